#include "prober/net/decompress.hpp"

#include <string>

#include <brotli/encode.h>
#include <catch2/catch.hpp>
#include <zlib.h>

#include "prober/net/gzip.hpp"

namespace sonde::net {
namespace {

std::string deflate_raw(const std::string& data) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string brotli(const std::string& data) {
    std::string out(BrotliEncoderMaxCompressedSize(data.size()) + 16, '\0');
    std::size_t size = out.size();
    REQUIRE(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW,
                                  BROTLI_DEFAULT_MODE, data.size(),
                                  reinterpret_cast<const std::uint8_t*>(data.data()), &size,
                                  reinterpret_cast<std::uint8_t*>(out.data())) == BROTLI_TRUE);
    out.resize(size);
    return out;
}

std::string compress_with(const std::string& algorithm, const std::string& data) {
    if (algorithm == "gzip") {
        auto gz = gzip_compress(data);
        REQUIRE(gz);
        return *gz;
    }
    if (algorithm == "deflate") {
        return deflate_raw(data);
    }
    if (algorithm == "br") {
        return brotli(data);
    }
    return data;
}

TEST_CASE("decompress round trips every algorithm the exporter knows", "[unit]") {
    const std::string algorithm = GENERATE("gzip", "deflate", "br", "identity");
    const std::string text = GENERATE(std::string("hello, world"), std::string(100000, 'z'));
    CAPTURE(algorithm, text.size());
    const auto result = decompress(algorithm, compress_with(algorithm, text), 1 << 20);
    REQUIRE(result.ok());
    CHECK(result.data == text);
    // Names are case-insensitive at runtime, as in the exporter.
    std::string upper = algorithm;
    for (auto& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    CHECK(decompress(upper, compress_with(algorithm, text), 1 << 20).ok());
}

TEST_CASE("a decompression bomb stops at the cap, as TooLarge", "[unit]") {
    const std::string algorithm = GENERATE("gzip", "deflate", "br", "identity");
    CAPTURE(algorithm);
    const std::string bomb = compress_with(algorithm, std::string(4 * 1024 * 1024, '\0'));
    const auto result = decompress(algorithm, bomb, 64 * 1024);
    CHECK(result.status == DecompressStatus::TooLarge);
    CHECK(result.data.size() == 64 * 1024);
    CHECK_THAT(result.error, Catch::Contains("exceeds 65536 bytes"));
    // Exactly at the cap is fine.
    CHECK(decompress(algorithm, compress_with(algorithm, std::string(1000, 'a')), 1000).ok());
}

TEST_CASE("corrupt and truncated input is Corrupt, not TooLarge", "[unit]") {
    const std::string algorithm = GENERATE("gzip", "deflate", "br");
    CAPTURE(algorithm);
    const std::string good = compress_with(algorithm, std::string(5000, 'q') + "tail");
    const auto truncated = decompress(algorithm, good.substr(0, good.size() / 2), 1 << 20);
    CHECK(truncated.status == DecompressStatus::Corrupt);
    CHECK_FALSE(truncated.error.empty());
    const auto garbage = decompress(algorithm, "\xff\xfe not compressed at all", 1 << 20);
    CHECK(garbage.status == DecompressStatus::Corrupt);
    CHECK(decompress(algorithm, "", 1 << 20).status == DecompressStatus::Corrupt);
}

TEST_CASE("deflate is raw DEFLATE as Go's flate.NewReader, not the zlib wrapper", "[unit]") {
    // zlib's compress() writes the RFC 1950 wrapper, which flate.NewReader rejects.
    const std::string text = "zlib wrapped";
    std::string wrapped(compressBound(text.size()), '\0');
    uLongf size = wrapped.size();
    REQUIRE(compress(reinterpret_cast<Bytef*>(wrapped.data()), &size,
                     reinterpret_cast<const Bytef*>(text.data()), text.size()) == Z_OK);
    wrapped.resize(size);
    CHECK(decompress("deflate", wrapped, 1 << 20).status == DecompressStatus::Corrupt);
}

TEST_CASE("gzip reads concatenated members and rejects trailing garbage", "[unit]") {
    const std::string two = compress_with("gzip", "one ") + compress_with("gzip", "two");
    const auto result = decompress("gzip", two, 1 << 20);
    REQUIRE(result.ok());
    CHECK(result.data == "one two");
    CHECK(decompress("gzip", compress_with("gzip", "x") + "junk", 1 << 20).status ==
          DecompressStatus::Corrupt);
}

TEST_CASE("an unknown algorithm is Unsupported with the exporter's message", "[unit]") {
    const auto result = decompress("zstd", "x", 10);
    CHECK(result.status == DecompressStatus::Unsupported);
    CHECK(result.error == "unsupported compression algorithm");
    CHECK_FALSE(is_supported_compression("zstd"));
    CHECK(is_supported_compression("GZip"));
}

}  // namespace
}  // namespace sonde::net

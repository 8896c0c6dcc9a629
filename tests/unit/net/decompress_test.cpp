#include "prober/net/decompress.hpp"

#include <string>

#include <catch2/catch.hpp>
#include <zlib.h>

#include "tests/support/compressors.hpp"

namespace sonde::net {
namespace {

std::string compress_with(const std::string& algorithm, const std::string& data) {
    if (algorithm == "gzip") {
        return test::gzip_compress(data);
    }
    if (algorithm == "deflate") {
        return test::deflate_raw(data);
    }
    if (algorithm == "br") {
        return test::brotli_compress(data);
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

TEST_CASE("errors carry Go's texts and the bytes decoded before them", "[unit]") {
    const std::string algorithm = GENERATE("gzip", "deflate", "br");
    CAPTURE(algorithm);
    std::string text;
    for (int i = 0; text.size() < 200000; ++i) {
        text += std::to_string(i * 7919) + " ";
    }
    const std::string good = compress_with(algorithm, text);
    const auto truncated =
        decompress(algorithm, good.substr(0, good.size() - good.size() / 4), 1 << 20);
    CHECK(truncated.status == DecompressStatus::Corrupt);
    CHECK(truncated.error == "unexpected EOF");
    CHECK_FALSE(truncated.data.empty());
    CHECK(text.compare(0, truncated.data.size(), truncated.data) == 0);
    const std::string corrupt_text = algorithm == std::string("br")     ? "brotli: corrupt input"
                                     : algorithm == std::string("gzip") ? "gzip: invalid header"
                                                                        : "flate: corrupt input";
    CHECK(decompress(algorithm, "\xff\xff\xff\xff", 1 << 20).error == corrupt_text);
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

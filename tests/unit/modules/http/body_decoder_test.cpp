#include "modules/http/body_decoder.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "tests/support/compressors.hpp"

namespace sonde::modules::http {
namespace {

std::string raw_deflate(const std::string& data) {
    return test::deflate_raw(data);
}

std::string brotli(const std::string& data) {
    return test::brotli_compress(data);
}

std::string gzip(const std::string& data) {
    return test::gzip_compress(data);
}

TEST_CASE("compression_from_config", "[unit][http]") {
    CHECK(*compression_from_config("") == Compression::Identity);
    CHECK(*compression_from_config("identity") == Compression::Identity);
    CHECK(*compression_from_config("gzip") == Compression::Gzip);
    CHECK(*compression_from_config("GZip") == Compression::Gzip);
    CHECK(*compression_from_config("br") == Compression::Brotli);
    CHECK(*compression_from_config("BR") == Compression::Brotli);
    CHECK(*compression_from_config("deflate") == Compression::Deflate);
    const auto bad = compression_from_config("zstd");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == "unsupported compression algorithm");
}

TEST_CASE("each algorithm decodes (TestHandlingOfCompressionSetting)", "[unit][http]") {
    const std::string text = "This is a test.\n" + std::string(1000, 'x');
    struct Case {
        Compression compression;
        std::string encoded;
    };
    const auto c = GENERATE_COPY(values<Case>({
        {Compression::Identity, text},
        {Compression::Gzip, gzip(text)},
        {Compression::Gzip, gzip(text.substr(0, 100)) + gzip(text.substr(100))},
        {Compression::Deflate, raw_deflate(text)},
        {Compression::Brotli, brotli(text)},
    }));
    REQUIRE(start_decoder(c.compression, c.encoded).has_value());
    const BodyRead read = read_body(c.compression, c.encoded, 0);
    CHECK(read.error.empty());
    CHECK(read.body == text);
}

TEST_CASE("gzip decoder start failures", "[unit][http]") {
    CHECK(start_decoder(Compression::Gzip, "").error() == "EOF");
    CHECK(start_decoder(Compression::Gzip, "\x1f\x8b").error() == "unexpected EOF");
    CHECK(start_decoder(Compression::Gzip, "plain text body").error() == "gzip: invalid header");
    CHECK(start_decoder(Compression::Deflate, "anything").has_value());
    CHECK(start_decoder(Compression::Brotli, "").has_value());
}

TEST_CASE("corrupt and truncated streams are read errors", "[unit][http]") {
    const std::string text(5000, 'a');
    const std::string gz = gzip(text);
    CHECK(read_body(Compression::Gzip, gz.substr(0, gz.size() - 4), 0).error == "unexpected EOF");
    std::string bad_crc = gz;
    bad_crc[bad_crc.size() - 5] = static_cast<char>(bad_crc[bad_crc.size() - 5] ^ 0x55);
    CHECK(read_body(Compression::Gzip, bad_crc, 0).error == "gzip: invalid checksum");
    CHECK(read_body(Compression::Gzip, gz + "trailing", 0).error == "gzip: invalid header");
    CHECK(read_body(Compression::Deflate, "\xff\xff\xff\xff", 0).error == "flate: corrupt input");
    const std::string br = brotli(text);
    CHECK(read_body(Compression::Brotli, br.substr(0, br.size() / 2), 0).error == "unexpected EOF");
    CHECK(read_body(Compression::Brotli, "\xff\xff\xff\xff", 0).error == "brotli: corrupt input");
}

TEST_CASE("body_size_limit applies after decoding (TestMaxResponseLength)", "[unit][http]") {
    const std::string exact(128, 'a');
    const std::string over(129, 'a');
    SECTION("plain body at and over the limit") {
        const BodyRead at = read_body(Compression::Identity, exact, 128);
        CHECK(at.error.empty());
        CHECK(at.body.size() == 128);
        const BodyRead above = read_body(Compression::Identity, over, 128);
        CHECK(above.error == "http: request body too large");
        CHECK(above.body.size() == 128);
    }
    SECTION("a gzip body whose compressed size is under the limit still fails decoded") {
        const std::string big(4096, 'z');
        const std::string gz = gzip(big);
        REQUIRE(gz.size() < 128);
        const BodyRead read = read_body(Compression::Gzip, gz, 128);
        CHECK(read.error == "http: request body too large");
        CHECK(read.body.size() == 128);
    }
    SECTION("no limit") {
        CHECK(read_body(Compression::Identity, over, 0).body.size() == 129);
    }
    SECTION("a decompression bomb stops at the guard") {
        const std::string gz = gzip(std::string(1 << 20, '\0'));
        const BodyRead read = read_body(Compression::Gzip, gz, 0, 1000);
        CHECK(read.error == "http: request body too large");
        CHECK(read.body.size() == 1000);
    }
}

}  // namespace
}  // namespace sonde::modules::http

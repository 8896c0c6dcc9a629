// The exporter's TestIsEncodingAcceptable table (conformance README).

#include "config/accept_encoding.hpp"

#include <catch2/catch.hpp>

TEST_CASE("compression vs Accept-Encoding, upstream's 13 cases", "[unit][config]") {
    const auto [compression, header, valid] = GENERATE(table<const char*, const char*, bool>({
        {"", "gzip", true},
        {"gzip", "gzip", true},
        {"gzip", "gzip;q=1.0", true},
        {"gzip", "gzip, compress", true},
        {"gzip", "compress, gzip", true},
        {"br", "gzip, compress", false},
        {"br", "gzip, compress, *", true},
        {"br", "gzip, compress, *;q=0.1", true},
        {"br", "gzip, compress, br;q=0.0", false},
        {"br", "gzip, compress, *;q=0.0", false},
        {"br", "gzip;q=1.0, compress;q=0.5, br;q=0.1, *;q=0.0", true},
        {"br", "*;q=0.0, compress;q=0.5, br;q=0.1, gzip;q=1.0", true},
        {"br", " gzip;q=1.0, compress; q=0.5, br;q=0.1, *; q=0.0 ", true},
    }));
    INFO(compression << " / " << header);
    CHECK(sonde::config::is_compression_acceptable(compression, header) == valid);
}

TEST_CASE("an empty Accept-Encoding accepts any compression", "[unit][config]") {
    CHECK(sonde::config::is_compression_acceptable("gzip", ""));
    CHECK_FALSE(sonde::config::is_compression_acceptable("gzip", "*;q=0.0"));
    CHECK_FALSE(sonde::config::is_compression_acceptable("gzip", "deflate"));
}

// The Go duration and base-2 size parsers, with the cases of the reference (§1.1).

#include <catch2/catch.hpp>

#include "config/duration.hpp"
#include "config/size.hpp"

using namespace std::chrono_literals;
using sonde::config::Duration;

TEST_CASE("Go durations that parse", "[unit][config]") {
    const auto [text, expected] = GENERATE(table<const char*, Duration>({
        {"0", 0ns},
        {"5s", 5s},
        {"500ms", 500ms},
        {"1m30s", 90s},
        {"1.5s", 1500ms},
        {"100us", 100us},
        {"100\xC2\xB5s", 100us},
        {"100\xCE\xBCs", 100us},
        {"10ns", 10ns},
        {"1h", 1h},
        {"2h45m", 165min},
        {".5s", 500ms},
        {"1.s", 1s},
        {"+3s", 3s},
        {"-1.5h", -90min},
        {"0s", 0ns},
        {"9223372036854775807ns", Duration{INT64_MAX}},
    }));
    INFO(text);
    auto parsed = sonde::config::parse_go_duration(text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == expected);
}

TEST_CASE("Go durations that do not parse", "[unit][config]") {
    const char* text = GENERATE("", "5", "1d", "1w", "1y", "s", ".s", "1.5", "5S", "-", "1s5",
                                "9223372036854775808ns", "3000000h", "5 s", "1e3s");
    INFO(text);
    CHECK_FALSE(sonde::config::parse_go_duration(text).has_value());
}

TEST_CASE("durations print as Go's Duration.String", "[unit][config]") {
    const auto [duration, expected] = GENERATE(table<Duration, const char*>({
        {0ns, "0s"},
        {5s, "5s"},
        {500ms, "500ms"},
        {1500ms, "1.5s"},
        {90s, "1m30s"},
        {1h, "1h0m0s"},
        {100us, "100\xC2\xB5s"},
        {1500ns, "1.5\xC2\xB5s"},
        {7ns, "7ns"},
        {-2s, "-2s"},
        {Duration{3723500000000}, "1h2m3.5s"},
    }));
    CHECK(sonde::config::format_go_duration(duration) == expected);
}

TEST_CASE("base-2 sizes that parse", "[unit][config]") {
    const auto [text, expected] = GENERATE(table<const char*, std::int64_t>({
        {"0", 0},
        {"0B", 0},
        {"1B", 1},
        {"1KB", 1024},
        {"1KiB", 1024},
        {"1MB", 1048576},
        {"1MiB", 1048576},
        {"1.5MB", 1572864},
        {"1GB", 1073741824},
        {"2TiB", 2199023255552},
        {"1PB", 1125899906842624},
        {"1EB", 1152921504606846976},
        {"1MiB512KiB", 1572864},
        {".5KB", 512},
        {"128B", 128},
    }));
    INFO(text);
    auto parsed = sonde::config::parse_base2_bytes(text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == expected);
}

TEST_CASE("base-2 sizes that do not parse", "[unit][config]") {
    const char* text = GENERATE("", "1024", "1kB", "1kb", "1mb", "1K", "MB", ".MB", "1 MB", "1ZB",
                                "16EB", "1MB x");
    INFO(text);
    CHECK_FALSE(sonde::config::parse_base2_bytes(text).has_value());
}

TEST_CASE("sizes print as Base2Bytes.String", "[unit][config]") {
    const auto [bytes, expected] = GENERATE(table<std::int64_t, const char*>({
        {0, "0B"},
        {128, "128B"},
        {1024, "1KiB"},
        {1048576, "1MiB"},
        {1572864, "1MiB512KiB"},
        {1536, "1KiB512B"},
    }));
    CHECK(sonde::config::format_base2_bytes(bytes) == expected);
    // What is printed parses back to the same number.
    CHECK(*sonde::config::parse_base2_bytes(expected) == bytes);
}

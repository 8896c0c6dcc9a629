// The flags of the bounds on probes and connections (sonde's own).

#include <catch2/catch.hpp>

#include "prober/app/flags.hpp"

namespace sonde::app {

TEST_CASE("the flags --probe.max-concurrent and --web.max-connections: defaults and values",
          "[unit][limits]") {
    const auto defaults = parse_flags({});
    REQUIRE(defaults.has_value());
    CHECK(defaults->probe_max_concurrent == 10000);
    CHECK(defaults->web_max_connections == 1024);

    const auto given = parse_flags({"--probe.max-concurrent=50", "--web.max-connections", "4096"});
    REQUIRE(given.has_value());
    CHECK(given->probe_max_concurrent == 50);
    CHECK(given->web_max_connections == 4096);
    CHECK(usage_text().find("--probe.max-concurrent=10000") != std::string::npos);
    CHECK(usage_text().find("--web.max-connections=1024") != std::string::npos);
}

TEST_CASE("the flags --probe.max-concurrent and --web.max-connections: bad values, exact errors",
          "[unit][limits]") {
    struct Row {
        const char* arg;
        const char* error;
    };
    const Row row = GENERATE(
        Row{"--probe.max-concurrent=0", "--probe.max-concurrent must be at least 1"},
        Row{"--probe.max-concurrent=-1", "invalid value \"-1\" for flag --probe.max-concurrent"},
        Row{"--probe.max-concurrent=many",
            "invalid value \"many\" for flag --probe.max-concurrent"},
        Row{"--web.max-connections=0", "--web.max-connections must be at least 1"},
        Row{"--web.max-connections=1.5", "invalid value \"1.5\" for flag --web.max-connections"});
    CAPTURE(row.arg);
    const auto flags = parse_flags({row.arg});
    REQUIRE_FALSE(flags.has_value());
    CHECK(flags.error() == row.error);
}

}  // namespace sonde::app

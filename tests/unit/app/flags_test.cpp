#include "prober/app/flags.hpp"

#include <catch2/catch.hpp>

namespace sonde::app {
namespace {

TEST_CASE("flags default to the exporter's defaults", "[unit][flags]") {
    const auto flags = parse_flags({});
    REQUIRE(flags.has_value());
    CHECK(flags->config_file == "blackbox.yml");
    CHECK_FALSE(flags->config_file_given);
    CHECK(flags->timeout_offset == 0.5);
    CHECK(flags->history_limit == 100);
    CHECK(flags->listen_addresses == std::vector<std::string>{":9115"});
    CHECK(flags->log_level == LogLevel::Info);
    CHECK(normalise_route_prefix(*flags) == "/");
}

TEST_CASE("flags take both --flag=value and --flag value, and repeat", "[unit][flags]") {
    const auto flags =
        parse_flags({"--config.file", "a.yml", "--timeout-offset=1.5", "--web.listen-address=:1",
                     "--web.listen-address", "127.0.0.1:2", "--config.check", "--log.level=debug",
                     "--log.format=json", "--history.limit=7"});
    REQUIRE(flags.has_value());
    CHECK(flags->config_file == "a.yml");
    CHECK(flags->config_file_given);
    CHECK(flags->timeout_offset == 1.5);
    CHECK(flags->listen_addresses == std::vector<std::string>{":1", "127.0.0.1:2"});
    CHECK(flags->config_check);
    CHECK(flags->log_level == LogLevel::Debug);
    CHECK(flags->log_json);
    CHECK(flags->history_limit == 7);
}

TEST_CASE("boolean flags accept --no- and =false", "[unit][flags]") {
    CHECK_FALSE(parse_flags({"--config.check", "--no-config.check"})->config_check);
    CHECK_FALSE(parse_flags({"--config.check=false"})->config_check);
    CHECK(parse_flags({"--config.check=true"})->config_check);
}

TEST_CASE("bad flags are errors that say why", "[unit][flags]") {
    using Row = std::pair<std::vector<std::string>, std::string>;
    const auto row = GENERATE(
        Row{{"--nope"}, "unknown long flag '--nope', try --help"},
        Row{{"--timeout-offset=abc"}, "invalid value \"abc\" for flag --timeout-offset"},
        Row{{"--history.limit=-1"}, "invalid value \"-1\" for flag --history.limit"},
        Row{{"--log.level=loud"}, "unrecognized log level \"loud\" for flag --log.level"},
        Row{{"--log.format=xml"}, "unrecognized log format \"xml\" for flag --log.format"},
        Row{{"--config.file"}, "expected argument for flag '--config.file'"},
        Row{{"stray"}, "unexpected argument stray, try --help"},
        Row{{"--web.systemd-socket"}, "flag --web.systemd-socket is not supported yet"},
        Row{{"--config.check=maybe"}, "invalid boolean value \"maybe\" for flag --config.check"});
    const auto result = parse_flags(row.first);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error() == row.second);
}

TEST_CASE("the route prefix comes from the flag or the external URL path", "[unit][flags]") {
    CHECK(normalise_route_prefix(*parse_flags({"--web.route-prefix=probe/"})) == "/probe");
    CHECK(normalise_route_prefix(*parse_flags({"--web.external-url=http://h:1/bb/"})) == "/bb");
    CHECK(normalise_route_prefix(*parse_flags({"--web.external-url=http://h:1"})) == "/");
}

}  // namespace
}  // namespace sonde::app

// `sonde check` argument parsing: its own flags, the exporter's flags with separate values,
// positional MODULE and TARGETs, and usage errors.

#include <catch2/catch.hpp>

#include "prober/app/check_command.hpp"

using sonde::app::CheckFormat;
using sonde::app::parse_check_args;

TEST_CASE("check args: module, targets and flags in any order", "[check]") {
    auto options = parse_check_args({"--config.file", "b.yml", "http_2xx", "--json", "http://a",
                                     "--repeat=3", "--interval", "250ms", "http://b"});
    REQUIRE(options);
    CHECK(options->flags.config_file == "b.yml");
    CHECK(options->flags.config_file_given);
    CHECK(options->format == CheckFormat::Json);
    CHECK(options->repeat == 3);
    CHECK(options->interval == std::chrono::milliseconds(250));
    REQUIRE(options->module);
    CHECK(*options->module == "http_2xx");
    CHECK(options->targets == std::vector<std::string>{"http://a", "http://b"});
    // sonde's own info logs stay quiet unless asked for.
    CHECK(options->flags.log_level == sonde::LogLevel::Warn);
}

TEST_CASE("check args: no positional arguments means the static targets", "[check]") {
    auto options = parse_check_args({"--config.file=b.yml", "--metrics"});
    REQUIRE(options);
    CHECK_FALSE(options->module);
    CHECK(options->format == CheckFormat::Metrics);
    CHECK(options->repeat == 1);
    CHECK(options->interval == std::chrono::seconds(1));
}

TEST_CASE("check args: usage errors", "[check]") {
    CHECK_FALSE(parse_check_args({"http_2xx"}));              // module without target
    CHECK_FALSE(parse_check_args({"--repeat=0", "m", "t"}));  // nothing to run
    CHECK_FALSE(parse_check_args({"--repeat", "x", "m", "t"}));
    CHECK_FALSE(parse_check_args({"--interval=soon", "m", "t"}));
    CHECK_FALSE(parse_check_args({"--json", "--metrics", "m", "t"}));
    CHECK_FALSE(parse_check_args({"--no-such-flag", "m", "t"}));
    CHECK_FALSE(parse_check_args({"-x", "m", "t"}));
    CHECK_FALSE(parse_check_args({"--repeat"}));
    auto help = parse_check_args({"-h"});
    REQUIRE(help);
    CHECK(help->show_help);
}

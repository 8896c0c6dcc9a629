#include "prober/app/probe_timeout.hpp"

#include <optional>
#include <tuple>

#include <catch2/catch.hpp>

namespace sonde::app {
namespace {

TEST_CASE("effective timeout follows the exporter's TestTimeoutIsSetCorrectly table",
          "[unit][timeout]") {
    // module timeout (s), scrape header (nullopt = absent), offset -> effective seconds
    using Row = std::tuple<double, std::optional<double>, double, double>;
    const auto row = GENERATE(
        Row{0, 15, 0.5, 14.5}, Row{0, 15, 0, 15}, Row{20, 15, 0.5, 14.5}, Row{20, 15, 0, 15},
        Row{5, 15, 0, 5}, Row{5, 15, 0.5, 5}, Row{10, std::nullopt, 0.5, 10}, Row{10, 10, 0.5, 9.5},
        Row{9.5, std::nullopt, 0.5, 9.5}, Row{9.5, std::nullopt, 1, 9.5},
        Row{0, std::nullopt, 0.5, 119.5}, Row{0, std::nullopt, 0, 120},
        // Header 1 s, offset 0.5, module 10 s (TestPrometheusTimeoutHTTP).
        Row{10, 1, 0.5, 0.5},
        // A header of "0" means "no scrape timeout": 120 s.
        Row{0, 0, 0.5, 119.5},
        // The offset made the budget negative: the module timeout wins, even when 0.
        Row{3, 0.2, 0.5, 3}, Row{0, 0.2, 0.5, 0});
    const auto [module, header, offset, expected] = row;
    CHECK(effective_timeout_seconds(header, offset, module) == Approx(expected));
}

TEST_CASE("the scrape timeout header is parsed as Go's ParseFloat", "[unit][timeout]") {
    CHECK(parse_scrape_timeout_header(std::nullopt).value() == std::nullopt);
    CHECK(parse_scrape_timeout_header("10").value() == 10.0);
    CHECK(parse_scrape_timeout_header("2.5").value() == 2.5);
    CHECK(parse_scrape_timeout_header("1e1").value() == 10.0);
    const auto bad = parse_scrape_timeout_header("ten");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() ==
          "Failed to parse timeout from Prometheus header: strconv.ParseFloat: parsing \"ten\": "
          "invalid syntax");
    CHECK_FALSE(parse_scrape_timeout_header("").has_value());
    CHECK_FALSE(parse_scrape_timeout_header("10s").has_value());
    CHECK_FALSE(parse_scrape_timeout_header(" 10").has_value());
}

TEST_CASE("scheduled probes never outlive their interval", "[unit][timeout]") {
    CHECK(scheduled_timeout_seconds(30, 0.5, 0) == Approx(29.5));
    CHECK(scheduled_timeout_seconds(30, 0.5, 5) == Approx(5));
    CHECK(scheduled_timeout_seconds(10, 0.5, 60) == Approx(10));
    CHECK(scheduled_timeout_seconds(0.4, 0.5, 0) == Approx(0.4));
}

}  // namespace
}  // namespace sonde::app

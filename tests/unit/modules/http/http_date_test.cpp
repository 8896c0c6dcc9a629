#include "modules/http/http_date.hpp"

#include <catch2/catch.hpp>

namespace sonde::modules::http {
namespace {

TEST_CASE("parse_http_date accepts Go's three formats", "[unit][http]") {
    using Case = std::pair<std::string, std::int64_t>;
    const auto c = GENERATE(values<Case>({
        {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
        {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
        {"Sun Nov  6 08:49:37 1994", 784111777},
        {"Sun Nov 6 08:49:37 1994", 784111777},
        {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
        {"Wed, 21 Oct 2015 07:28:00 GMT", 1445412480},
        {"Wednesday, 21-Oct-15 07:28:00 UTC", 1445412480},
        {"Thu, 29 Feb 2024 23:59:59 GMT", 1709251199},
        {"sun, 06 nov 1994 08:49:37 GMT", 784111777},
        {"Mon, 06 Nov 1994 08:49:37 GMT", 784111777},  // weekday not checked, as Go
        {"Thursday, 01-Jan-70 00:00:00 GMT", 0},
        {"Saturday, 01-Jan-00 00:00:00 GMT", 946684800},
        {"Sun, 06 Nov 1994  08:49:37 GMT", 784111777},  // runs of spaces match
        {"Sun, 06 Nov 1994 8:49:37 GMT", 784111777},    // Go's hour takes one digit too
    }));
    CAPTURE(c.first);
    const auto parsed = parse_http_date(c.first);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == c.second);
}

TEST_CASE("parse_http_date rejects what Go rejects", "[unit][http]") {
    const auto text = GENERATE(as<std::string>{}, "", "yesterday", "Sun, 6 Nov 1994 08:49:37 GMT",
                               "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37",
                               "Sun, 06 Nov 1994 08:49:37 GMT extra",
                               "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 2023 08:49:37 GMT",
                               "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
                               "Sun, 06 Foo 1994 08:49:37 GMT", "1994-11-06T08:49:37Z");
    CAPTURE(text);
    CHECK_FALSE(parse_http_date(text).has_value());
}

TEST_CASE("days_from_civil", "[unit][http]") {
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
    CHECK(days_from_civil(1969, 12, 31) == -1);
}

}  // namespace
}  // namespace sonde::modules::http

#include "modules/http/response_checks.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/modules/http/test_helpers.hpp"

namespace sonde::modules::http {
namespace {

using test::header_match;
using test::regex;

TEST_CASE("status codes: 2xx by default (TestHTTPStatusCodes)", "[unit][http]") {
    struct Case {
        int code;
        std::vector<int> valid;
        bool ok;
    };
    const auto c = GENERATE(values<Case>({
        {200, {}, true},
        {201, {}, true},
        {299, {}, true},
        {300, {}, false},
        {404, {}, false},
        {199, {}, false},
        {404, {200, 404}, true},
        {200, {200, 404}, true},
        {201, {200, 404}, false},
    }));
    CAPTURE(c.code, c.valid);
    config::HttpProbe cfg;
    cfg.valid_status_codes = c.valid;
    const CheckResult result = check_status(cfg, c.code);
    CHECK(result.ok == c.ok);
    if (!c.ok) {
        CHECK(result.message == (c.valid.empty() ? "Invalid HTTP response status code, wanted 2xx"
                                                 : "Invalid HTTP response status code"));
        CHECK(result.fields == LogFields{{"status_code", std::to_string(c.code)}});
    }
}

net::HttpHeaders headers_of(std::initializer_list<std::pair<std::string, std::string>> list) {
    net::HttpHeaders headers;
    for (const auto& [name, value] : list) {
        headers.add(name, value);
    }
    return headers;
}

TEST_CASE("fail_if_header_matches (TestFailIfHeaderMatchesRegexp)", "[unit][http]") {
    struct Case {
        config::HeaderMatch spec;
        std::vector<std::pair<std::string, std::string>> headers;
        bool ok;
        std::string message;
    };
    const auto c = GENERATE(values<Case>({
        {header_match("Content-Type", "text/javascript"), {}, false, "Missing required header"},
        {header_match("content-type", "text/javascript"),
         {{"Content-Type", "text/javascript"}},
         false,
         "Header matched regular expression"},
        {header_match("Content-Type", "text/javascript"),
         {{"Content-Type", "application/json"}},
         true,
         ""},
        {header_match("Content-Type", "text/javascript", true), {}, true, ""},
        {header_match("Set-Cookie", "foo=bar"),
         {{"Set-Cookie", "a=b"}, {"set-cookie", "foo=bar"}},
         false,
         "Header matched regular expression"},
        {header_match("X-Empty", "^$"),
         {{"X-Empty", ""}},
         false,
         "Header matched regular expression"},
        {header_match("X-Part", "ar"),
         {{"X-Part", "bar"}},
         false,
         "Header matched regular expression"},
    }));
    config::HttpProbe cfg;
    cfg.fail_if_header_matches = {c.spec};
    net::HttpHeaders headers;
    for (const auto& [name, value] : c.headers) {
        headers.add(name, value);
    }
    const CheckResult result = check_headers(cfg, headers);
    CHECK(result.ok == c.ok);
    CHECK(result.message == c.message);
}

TEST_CASE("fail_if_header_not_matches (TestFailIfHeaderNotMatchesRegexp)", "[unit][http]") {
    struct Case {
        config::HeaderMatch spec;
        std::vector<std::pair<std::string, std::string>> headers;
        bool ok;
        std::string message;
    };
    const auto c = GENERATE(values<Case>({
        {header_match("Content-Type", "text/javascript"), {}, false, "Missing required header"},
        {header_match("Content-Type", "text/javascript", true), {}, true, ""},
        {header_match("Content-Type", "text/javascript"),
         {{"Content-Type", "text/javascript"}},
         true,
         ""},
        {header_match("content-TYPE", "text/javascript"),
         {{"Content-Type", "application/json"}},
         false,
         "Header did not match regular expression"},
        {header_match("Set-Cookie", "foo=bar"),
         {{"Set-Cookie", "a=b"}, {"Set-Cookie", "foo=bar"}},
         true,
         ""},
        {header_match("Set-Cookie", "^foo=bar$"),
         {{"Set-Cookie", "a=b"}, {"Set-Cookie", "xfoo=bar"}},
         false,
         "Header did not match regular expression"},
    }));
    config::HttpProbe cfg;
    cfg.fail_if_header_not_matches = {c.spec};
    net::HttpHeaders headers;
    for (const auto& [name, value] : c.headers) {
        headers.add(name, value);
    }
    const CheckResult result = check_headers(cfg, headers);
    CHECK(result.ok == c.ok);
    CHECK(result.message == c.message);
}

TEST_CASE("header matcher failure fields", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.fail_if_header_not_matches = {header_match("x-a", "^z")};
    const auto result = check_headers(cfg, headers_of({{"X-A", "1"}, {"X-A", "2"}}));
    CHECK(result.fields == LogFields{{"header", "x-a"}, {"regexp", "^z"}, {"value_count", "2"}});
}

TEST_CASE("matches run before not_matches, first failure wins", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.fail_if_header_matches = {header_match("A", "x", true)};
    cfg.fail_if_header_not_matches = {header_match("B", "y")};
    CHECK(check_headers(cfg, headers_of({{"A", "x"}})).message ==
          "Header matched regular expression");
    CHECK(check_headers(cfg, headers_of({{"A", "z"}})).message == "Missing required header");
    CHECK(check_headers(cfg, headers_of({{"B", "y"}})).ok);
}

TEST_CASE("body regexes see the whole body, unanchored", "[unit][http]") {
    config::HttpProbe cfg;
    SECTION("fail_if_body_matches_regexp (TestFailIfBodyMatchesRegexp)") {
        cfg.fail_if_body_matches_regexp = {regex("could not connect to database")};
        CHECK_FALSE(check_body(cfg, "Error: could not connect to database").ok);
        CHECK(check_body(cfg, "Download the latest version here").ok);
        CHECK(check_body(cfg, "Error: could not connect to database").message ==
              "Body matched regular expression");
        CHECK(check_body(cfg, "Error: could not connect to database").fields ==
              LogFields{{"regexp", "could not connect to database"}});
    }
    SECTION("fail_if_body_not_matches_regexp (TestFailIfBodyNotMatchesRegexp)") {
        cfg.fail_if_body_not_matches_regexp = {regex("Download the latest version here")};
        CHECK_FALSE(check_body(cfg, "Some text").ok);
        CHECK(check_body(cfg, "Some text").message == "Body did not match regular expression");
        CHECK(check_body(cfg, "Download the latest version here").ok);
    }
    SECTION("several regexes: all must pass") {
        cfg.fail_if_body_not_matches_regexp = {regex("a"), regex("b")};
        CHECK_FALSE(check_body(cfg, "a").ok);
        CHECK(check_body(cfg, "ab").ok);
    }
    SECTION("^ and $ anchor to the whole text unless (?m)") {
        cfg.fail_if_body_not_matches_regexp = {regex("^second$")};
        CHECK_FALSE(check_body(cfg, "first\nsecond\n").ok);
        cfg.fail_if_body_not_matches_regexp = {regex("(?m)^second$")};
        CHECK(check_body(cfg, "first\nsecond\n").ok);
    }
}

TEST_CASE("CEL is reported as unsupported", "[unit][http]") {
    config::HttpProbe cfg;
    CHECK_FALSE(has_cel(cfg));
    cfg.fail_if_body_json_not_matches_cel = "body.ok == true";
    CHECK(has_cel(cfg));
    const auto result = check_cel(cfg);
    CHECK_FALSE(result.ok);
    CHECK(result.message == "CEL is not supported by sonde yet");
    CHECK(result.fields == LogFields{{"expression", "body.ok == true"}});
}

TEST_CASE("valid_http_versions are exact strings (TestValidHTTPVersion)", "[unit][http]") {
    struct Case {
        std::vector<std::string> valid;
        std::string proto;
        bool ok;
    };
    const auto c = GENERATE(values<Case>({
        {{}, "HTTP/1.1", true},
        {{"HTTP/1.1"}, "HTTP/1.1", true},
        {{"HTTP/1.1", "HTTP/2.0"}, "HTTP/1.1", true},
        {{"HTTP/2.0"}, "HTTP/1.1", false},
        {{"HTTP/2"}, "HTTP/2.0", false},
        {{"HTTP/1.0"}, "HTTP/1.1", false},
    }));
    config::HttpProbe cfg;
    cfg.valid_http_versions = c.valid;
    const auto result = check_http_version(cfg, c.proto);
    CHECK(result.ok == c.ok);
    if (!c.ok) {
        CHECK(result.message == "Invalid HTTP version number");
        CHECK(result.fields == LogFields{{"version", c.proto}});
    }
}

TEST_CASE("fail_if_ssl and fail_if_not_ssl", "[unit][http]") {
    config::HttpProbe cfg;
    CHECK(check_tls(cfg, true, true).ok);
    CHECK(check_tls(cfg, false, true).ok);
    cfg.fail_if_ssl = true;
    CHECK(check_tls(cfg, true, false).message == "Final request was over SSL");
    CHECK(check_tls(cfg, false, true).ok);
    cfg.fail_if_ssl = false;
    cfg.fail_if_not_ssl = true;
    CHECK(check_tls(cfg, false, true).message == "Final request was not over SSL");
    CHECK(check_tls(cfg, false, false).ok);  // only judged while otherwise successful
    CHECK(check_tls(cfg, true, true).ok);
}

TEST_CASE("http_version_number", "[unit][http]") {
    CHECK(http_version_number("HTTP/1.0") == 1.0);
    CHECK(http_version_number("HTTP/1.1") == 1.1);
    CHECK(http_version_number("HTTP/2.0") == 2.0);
    CHECK(http_version_number("HTTP/3.0") == 3.0);
    CHECK(http_version_number("HTTP/2") == 2.0);
    CHECK_FALSE(http_version_number("").has_value());
    CHECK_FALSE(http_version_number("HTTP/x").has_value());
}

}  // namespace
}  // namespace sonde::modules::http

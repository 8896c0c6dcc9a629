#include "modules/http/cookie_jar.hpp"

#include <catch2/catch.hpp>

#include "tests/support/http_url_fixtures.hpp"

namespace sonde::modules::http {
namespace {

constexpr std::int64_t kNow = 1700000000;

TEST_CASE("a cookie from a redirect is sent on the next hop (TestCookieJar)", "[unit][http]") {
    CookieJar jar;
    jar.set_cookies(test::url_of("http://127.0.0.1:8080/"), {"foo=bar"}, kNow);
    CHECK(jar.cookie_header(test::url_of("http://127.0.0.1:8080/foo"), kNow) == "foo=bar");
    // Host-only: another host gets nothing; the port does not matter.
    CHECK(jar.cookie_header(test::url_of("http://127.0.0.2:8080/"), kNow).empty());
    CHECK(jar.cookie_header(test::url_of("http://127.0.0.1:9090/"), kNow) == "foo=bar");
}

TEST_CASE("cookie attributes", "[unit][http]") {
    CookieJar jar;
    const auto base = test::url_of("http://www.example.com/a/b/page");
    SECTION("default path is the request path's directory") {
        jar.set_cookies(base, {"p=1"}, kNow);
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/a/b/other"), kNow) == "p=1");
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/a/b"), kNow) == "p=1");
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/a/bc"), kNow).empty());
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/a"), kNow).empty());
    }
    SECTION("explicit path, and longer paths first") {
        jar.set_cookies(base, {"root=1; Path=/", "deep=2; Path=/a/b"}, kNow);
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/a/b/c"), kNow) ==
              "deep=2; root=1");
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/"), kNow) == "root=1");
    }
    SECTION("Domain cookies reach subdomains; host-only ones do not") {
        jar.set_cookies(base, {"d=1; Domain=.example.com; Path=/", "h=2; Path=/"}, kNow);
        CHECK(jar.cookie_header(test::url_of("http://api.example.com/"), kNow) == "d=1");
        CHECK(jar.cookie_header(test::url_of("http://example.com/"), kNow) == "d=1");
        CHECK(jar.cookie_header(test::url_of("http://WWW.example.com/"), kNow) == "d=1; h=2");
    }
    SECTION("foreign and single-label domains are refused") {
        jar.set_cookies(base, {"x=1; Domain=other.com", "y=2; Domain=com"}, kNow);
        CHECK(jar.size() == 0);
    }
    SECTION("an IP host accepts only its own address as Domain") {
        const auto ip = test::url_of("http://127.0.0.9/");
        jar.set_cookies(ip, {"a=1; Domain=127.0.0.9", "b=2; Domain=0.0.1"}, kNow);
        CHECK(jar.cookie_header(ip, kNow) == "a=1");
    }
    SECTION("Secure cookies only over https") {
        jar.set_cookies(test::url_of("https://www.example.com/"), {"s=1; Secure"}, kNow);
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/"), kNow).empty());
        CHECK(jar.cookie_header(test::url_of("https://www.example.com/"), kNow) == "s=1");
    }
    SECTION("Max-Age and Expires, deletion included") {
        jar.set_cookies(base,
                        {"m=1; Path=/; Max-Age=10",
                         "e=2; Path=/; Expires=Thu, 01 Jan 2099 "
                         "00:00:00 GMT"},
                        kNow);
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/"), kNow) == "m=1; e=2");
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/"), kNow + 11) == "e=2");
        jar.set_cookies(base, {"e=; Path=/; Max-Age=0"}, kNow);
        CHECK(jar.size() == 1);
        jar.set_cookies(base, {"m=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"}, kNow);
        CHECK(jar.size() == 0);
    }
    SECTION("a later Set-Cookie replaces the value and keeps the order") {
        jar.set_cookies(base, {"a=1; Path=/", "b=2; Path=/"}, kNow);
        jar.set_cookies(base, {"a=3; Path=/"}, kNow);
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/"), kNow) == "a=3; b=2");
    }
    SECTION("quoted values are unquoted; bad names are dropped") {
        jar.set_cookies(base, {"q=\"v\"; Path=/", "bad name=1; Path=/", "novalue"}, kNow);
        CHECK(jar.cookie_header(test::url_of("http://www.example.com/"), kNow) == "q=v");
    }
}

}  // namespace
}  // namespace sonde::modules::http

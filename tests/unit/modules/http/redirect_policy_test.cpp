#include "modules/http/redirect_policy.hpp"

#include <catch2/catch.hpp>

#include "tests/support/http_url_fixtures.hpp"

namespace sonde::modules::http {
namespace {

using Action = RedirectDecision::Action;

TEST_CASE("redirect counting: 10 followed, the 11th is final (TestRedirectionLimit)",
          "[unit][http]") {
    int redirects = 0;
    int requests = 0;
    Action action = Action::Follow;
    while (action == Action::Follow) {
        ++requests;
        const auto d = decide_redirect(302, true, "GET", false, true, requests, redirects, true);
        redirects = d.redirects;
        action = d.action;
    }
    CHECK(action == Action::Stop);
    CHECK(requests == 11);
    CHECK(redirects == 11);
}

TEST_CASE("follow_redirects: false stops at the first 3xx (TestRedirectNotFollowed)",
          "[unit][http]") {
    const auto d = decide_redirect(302, true, "GET", false, true, 1, 0, false);
    CHECK(d.action == Action::Stop);
    CHECK(d.redirects == 1);
}

TEST_CASE("a followed redirect then a 200 keeps the count (TestRedirectFollowed)", "[unit][http]") {
    const auto first = decide_redirect(301, true, "GET", false, true, 1, 0, true);
    CHECK(first.action == Action::Follow);
    CHECK(first.redirects == 1);
    const auto final = decide_redirect(200, false, "GET", false, true, 2, first.redirects, true);
    CHECK(final.action == Action::Final);
    CHECK(final.redirects == 1);
}

TEST_CASE("methods and bodies across redirects, as Go's client", "[unit][http]") {
    struct Case {
        int status;
        std::string method;
        std::string next_method;
        bool keep_body;
    };
    const auto c = GENERATE(values<Case>({
        {301, "GET", "GET", false},
        {301, "POST", "GET", false},
        {301, "PUT", "PUT", false},
        {302, "POST", "GET", false},
        {302, "HEAD", "HEAD", false},
        {303, "POST", "GET", false},
        {303, "PUT", "GET", false},
        {303, "HEAD", "HEAD", false},
        {307, "POST", "POST", true},
        {308, "PUT", "PUT", true},
    }));
    CAPTURE(c.status, c.method);
    const auto d = decide_redirect(c.status, true, c.method, true, true, 1, 0, true);
    CHECK(d.action == Action::Follow);
    CHECK(d.method == c.next_method);
    CHECK(d.keep_body == c.keep_body);
}

TEST_CASE("3xx responses Go does not follow are final", "[unit][http]") {
    CHECK(decide_redirect(300, true, "GET", false, true, 1, 0, true).action == Action::Final);
    CHECK(decide_redirect(304, true, "GET", false, true, 1, 0, true).action == Action::Final);
    CHECK(decide_redirect(302, false, "GET", false, true, 1, 0, true).action == Action::Final);
    // A body_file stream cannot be replayed on 307/308; an empty body can.
    CHECK(decide_redirect(307, true, "POST", true, false, 1, 0, true).action == Action::Final);
    CHECK(decide_redirect(307, true, "POST", false, false, 1, 0, true).action == Action::Follow);
    CHECK(decide_redirect(302, false, "GET", false, true, 3, 2, true).redirects == 2);
}

TEST_CASE("redirect_referer", "[unit][http]") {
    CHECK(redirect_referer(test::url_of("http://u:p@h/a?b"), test::url_of("http://g/")) ==
          "http://h/a?b");
    CHECK(redirect_referer(test::url_of("https://h/a"), test::url_of("http://g/")).empty());
    CHECK(redirect_referer(test::url_of("http://h/a"), test::url_of("https://g/")) == "http://h/a");
}

TEST_CASE("is_domain_or_subdomain", "[unit][http]") {
    CHECK(is_domain_or_subdomain("example.com", "example.com"));
    CHECK(is_domain_or_subdomain("www.example.com", "example.com"));
    CHECK_FALSE(is_domain_or_subdomain("badexample.com", "example.com"));
    CHECK_FALSE(is_domain_or_subdomain("example.com", "www.example.com"));
    CHECK_FALSE(is_domain_or_subdomain("::1", "1"));
}

TEST_CASE("redirect_hop: Host, headers and body of the next hop", "[unit][http]") {
    OutgoingRequest initial;
    initial.method = "POST";
    initial.url = test::url_of("http://127.0.0.9:8080/start");
    initial.host_header = "site.example:8080";
    initial.body = "payload";
    net::HttpHeaders headers;
    headers.add("User-Agent", "ua");
    headers.add("Authorization", "Bearer x");
    headers.add("Cookie", "c=1");

    SECTION("relative Location keeps the original Host and the sensitive headers") {
        const auto next = test::url_of("http://127.0.0.9:8080/next");
        const auto d = decide_redirect(307, true, "POST", true, true, 1, 0, true);
        const HopInputs hop = redirect_hop(initial, headers, initial, next, "/next", d);
        CHECK(hop.method == "POST");
        CHECK(hop.host_header == "site.example:8080");
        CHECK(hop.body == "payload");
        CHECK(hop.headers.contains("Authorization"));
        CHECK(hop.referer == "http://127.0.0.9:8080/start");
    }
    SECTION("absolute Location to another host: its Host, no sensitive headers") {
        const auto next = test::url_of("https://other.example/x");
        const auto d = decide_redirect(302, true, "POST", true, true, 1, 0, true);
        const HopInputs hop =
            redirect_hop(initial, headers, initial, next, "https://other.example/x", d);
        CHECK(hop.method == "GET");
        CHECK(hop.host_header == "other.example");
        CHECK(hop.body.empty());
        CHECK_FALSE(hop.headers.contains("Authorization"));
        CHECK_FALSE(hop.headers.contains("Cookie"));
        CHECK(*hop.headers.find("User-Agent") == "ua");
    }
    SECTION("without a custom Host the next URL's authority is used") {
        OutgoingRequest plain = initial;
        plain.host_header = plain.url.authority();
        const auto next = test::url_of("http://127.0.0.9:8080/n");
        const auto d = decide_redirect(302, true, "GET", false, true, 1, 0, true);
        CHECK(redirect_hop(plain, headers, plain, next, "/n", d).host_header == "127.0.0.9:8080");
    }
}

}  // namespace
}  // namespace sonde::modules::http

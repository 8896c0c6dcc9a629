#include "prober/net/url.hpp"

#include <string>

#include <catch2/catch.hpp>

namespace sonde::net {
namespace {

TEST_CASE("parse_url splits URLs as Go's net/url does", "[unit]") {
    struct Row {
        const char* input;
        const char* scheme;
        const char* host;
        const char* hostname;
        const char* port;
        const char* path;
        const char* request_uri;
    };
    const Row row = GENERATE(
        Row{"http://example.com", "http", "example.com", "example.com", "", "", "/"},
        Row{"HTTPS://Example.com:8443/a/b?x=1&y", "https", "Example.com:8443", "Example.com",
            "8443", "/a/b", "/a/b?x=1&y"},
        Row{"http://[::1]:9115/probe", "http", "[::1]:9115", "::1", "9115", "/probe", "/probe"},
        Row{"http://[fe80::1]/", "http", "[fe80::1]", "fe80::1", "", "/", "/"},
        Row{"http://127.0.0.1:80/a%20b", "http", "127.0.0.1:80", "127.0.0.1", "80", "/a b",
            "/a%20b"},
        Row{"http://h/a%2Fb", "http", "h", "h", "", "/a/b", "/a%2Fb"},
        Row{"http://h/a b", "http", "h", "h", "", "/a b", "/a%20b"},
        Row{"http://h/?", "http", "h", "h", "", "/", "/?"},
        Row{"http://h:/x", "http", "h:", "h", "", "/x", "/x"},
        Row{"/relative/path?q", "", "", "", "", "/relative/path", "/relative/path?q"});
    CAPTURE(row.input);
    auto url = parse_url(row.input);
    REQUIRE(url);
    CHECK(url->scheme == row.scheme);
    CHECK(url->host == row.host);
    CHECK(url->hostname() == row.hostname);
    CHECK(url->port() == row.port);
    CHECK(url->path == row.path);
    CHECK(url->request_uri() == row.request_uri);
}

TEST_CASE("parse_url reads userinfo and fragments", "[unit]") {
    auto url = parse_url("http://us%40er:p%3Ass+w@proxy.local:3128/#frag%20x");
    REQUIRE(url);
    REQUIRE(url->user);
    CHECK(url->user->username == "us@er");
    REQUIRE(url->user->password);
    CHECK(*url->user->password == "p:ss+w");
    CHECK(url->host == "proxy.local:3128");
    CHECK(url->fragment == "frag x");

    auto no_password = parse_url("http://user@h/");
    REQUIRE(no_password);
    REQUIRE(no_password->user);
    CHECK_FALSE(no_password->user->password);
}

TEST_CASE("parse_url rejects what Go rejects, with Go's words", "[unit]") {
    struct Row {
        const char* input;
        const char* error;
    };
    const Row row = GENERATE(
        Row{"http://a b/", "parse \"http://a b/\": invalid character \" \" in host name"},
        Row{"http://h:80a/", "parse \"http://h:80a/\": invalid port \":80a\" after host"},
        Row{"http://[::1/", "parse \"http://[::1/\": missing ']' in host"},
        Row{"http://[::1]x/", "parse \"http://[::1]x/\": invalid port \"x\" after host"},
        Row{":foo", "parse \":foo\": missing protocol scheme"},
        Row{"http://h/%zz", "parse \"http://h/%zz\": invalid URL escape \"%zz\""},
        Row{"a:b/c", nullptr},  // a scheme "a" with an opaque part: valid
        Row{"1a:b", "parse \"1a:b\": first path segment in URL cannot contain colon"},
        Row{"http://h/\n", "parse \"http://h/\n\": net/url: invalid control character in URL"});
    CAPTURE(row.input);
    auto url = parse_url(row.input);
    if (row.error == nullptr) {
        CHECK(url);
    } else {
        REQUIRE_FALSE(url);
        CHECK(url.error() == row.error);
    }
}

TEST_CASE("resolve_location follows RFC 3986 as Go's URL.Parse does", "[unit]") {
    auto base = parse_url("http://a/b/c/d;p?q");
    REQUIRE(base);
    struct Row {
        const char* location;
        const char* expected;
    };
    // RFC 3986 §5.4, as Go's TestResolveReference has them.
    const Row row = GENERATE(
        Row{"g:h", "g:h"}, Row{"g", "http://a/b/c/g"}, Row{"./g", "http://a/b/c/g"},
        Row{"g/", "http://a/b/c/g/"}, Row{"/g", "http://a/g"}, Row{"//g", "http://g"},
        Row{"?y", "http://a/b/c/d;p?y"}, Row{"g?y", "http://a/b/c/g?y"},
        Row{"#s", "http://a/b/c/d;p?q#s"}, Row{"", "http://a/b/c/d;p?q"}, Row{".", "http://a/b/c/"},
        Row{"./", "http://a/b/c/"}, Row{"..", "http://a/b/"}, Row{"../g", "http://a/b/g"},
        Row{"../..", "http://a/"}, Row{"../../../g", "http://a/g"}, Row{"/./g", "http://a/g"},
        Row{"g/../h", "http://a/b/c/h"}, Row{"https://other:8443/x/../y", "https://other:8443/y"});
    CAPTURE(row.location);
    auto resolved = resolve_location(*base, row.location);
    REQUIRE(resolved);
    CHECK(resolved->to_string() == row.expected);
}

TEST_CASE("a redirect keeps the base's userinfo only for relative references", "[unit]") {
    auto base = parse_url("http://u:p@host:8080/dir/page");
    REQUIRE(base);
    auto relative = resolve_location(*base, "/next?x=1");
    REQUIRE(relative);
    CHECK(relative->host == "host:8080");
    CHECK(relative->user);
    CHECK(relative->request_uri() == "/next?x=1");
    auto absolute = resolve_location(*base, "https://[::1]/");
    REQUIRE(absolute);
    CHECK(absolute->scheme == "https");
    CHECK(absolute->hostname() == "::1");
    CHECK_FALSE(absolute->user);
    CHECK_FALSE(resolve_location(*base, "http://bad host/"));
}

}  // namespace
}  // namespace sonde::net

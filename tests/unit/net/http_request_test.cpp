#include "prober/net/http_request.hpp"

#include <catch2/catch.hpp>

#include "prober/net/decompress.hpp"
#include "prober/net/gzip.hpp"
#include "prober/net/http_response.hpp"

namespace sonde::net {
namespace {

TEST_CASE("parse_query decodes as Go's url.ParseQuery", "[unit][http]") {
    SECTION("percent escapes and plus") {
        auto q = parse_query("target=example.com%3A443&module=http_2xx&msg=a+b%20c");
        REQUIRE(q);
        REQUIRE(q->get("target") != nullptr);
        CHECK(*q->get("target") == "example.com:443");
        CHECK(*q->get("module") == "http_2xx");
        CHECK(*q->get("msg") == "a b c");
        CHECK(q->size() == 3);
    }
    SECTION("invalid escapes are errors worded as Go's") {
        auto bad = parse_query("target=%zz");
        REQUIRE_FALSE(bad);
        CHECK(bad.error() == "invalid URL escape \"%zz\"");
        auto truncated = parse_query("a=1&b=%4");
        REQUIRE_FALSE(truncated);
        CHECK(truncated.error() == "invalid URL escape \"%4\"");
        auto in_key = parse_query("%g1=x");
        REQUIRE_FALSE(in_key);
        CHECK(in_key.error() == "invalid URL escape \"%g1\"");
    }
    SECTION("a semicolon is rejected, as since Go 1.17") {
        auto bad = parse_query("a=1;b=2");
        REQUIRE_FALSE(bad);
        CHECK(bad.error() == "invalid semicolon separator in query");
    }
    SECTION("repeated keys keep order and get() returns the first") {
        auto q = parse_query("module=a&target=t&module=b");
        REQUIRE(q);
        CHECK(*q->get("module") == "a");
        CHECK(q->all("module") == std::vector<std::string>{"a", "b"});
        CHECK(q->params()[1].key == "target");
    }
    SECTION("empty values, bare keys and empty pairs") {
        auto q = parse_query("a=&b&&=v&c=x=y");
        REQUIRE(q);
        REQUIRE(q->get("a") != nullptr);
        CHECK(q->get("a")->empty());
        REQUIRE(q->get("b") != nullptr);
        CHECK(q->get("b")->empty());
        REQUIRE(q->get("") != nullptr);
        CHECK(*q->get("") == "v");
        CHECK(*q->get("c") == "x=y");
        CHECK(q->get("missing") == nullptr);
        CHECK(q->size() == 4);
    }
    SECTION("empty query") {
        auto q = parse_query("");
        REQUIRE(q);
        CHECK(q->empty());
    }
    SECTION("escaped separators are data") {
        auto q = parse_query("k%3Dx=v%26w%2B");
        REQUIRE(q);
        CHECK(*q->get("k=x") == "v&w+");
    }
}

TEST_CASE("split_target separates and decodes the path", "[unit][http]") {
    auto t = split_target("/a%20b+c?x=%3A");
    REQUIRE(t);
    CHECK(t->path == "/a b+c");
    CHECK(t->query == "x=%3A");
    auto absolute = split_target("http://host:9115/probe?target=x");
    REQUIRE(absolute);
    CHECK(absolute->path == "/probe");
    CHECK(absolute->query == "target=x");
    auto bare = split_target("http://host");
    REQUIRE(bare);
    CHECK(bare->path == "/");
    CHECK_FALSE(split_target("/bad%zzpath"));
    CHECK_FALSE(split_target("probe"));
}

TEST_CASE("headers are looked up case-insensitively", "[unit][http]") {
    HttpRequest request;
    request.headers.add("X-Prometheus-Scrape-Timeout-Seconds", "10");
    request.headers.add("Accept", "a");
    request.headers.add("accept", "b");
    REQUIRE(request.header("x-prometheus-scrape-timeout-seconds") != nullptr);
    CHECK(*request.header("x-prometheus-scrape-timeout-seconds") == "10");
    CHECK(*request.header("ACCEPT") == "a");
    CHECK(request.headers.joined("accept") == "a, b");
    CHECK(request.header("missing") == nullptr);
}

TEST_CASE("accepts_gzip follows Accept-Encoding and q-values", "[unit][http]") {
    auto accepts = [](const char* value) {
        HttpRequest request;
        if (value != nullptr) {
            request.headers.add("Accept-Encoding", value);
        }
        return request.accepts_gzip();
    };
    CHECK(accepts("gzip"));
    CHECK(accepts("deflate, GZIP;q=0.5"));
    CHECK(accepts("x-gzip"));
    CHECK(accepts("*"));
    CHECK(accepts("br;q=1.0, gzip;q=0.8, *;q=0.1"));
    CHECK_FALSE(accepts(nullptr));
    CHECK_FALSE(accepts("identity"));
    CHECK_FALSE(accepts("gzip;q=0"));
    CHECK_FALSE(accepts("gzip;q=0.000"));
    CHECK_FALSE(accepts("*, gzip;q=0"));
    CHECK_FALSE(accepts("*;q=0"));
}

TEST_CASE("gzip round-trips and guards against bombs", "[unit][http]") {
    const std::string text(10000, 'x');
    auto compressed = gzip_compress(text);
    REQUIRE(compressed);
    CHECK(compressed->size() < text.size());
    auto back = gunzip(*compressed, 1 << 20);
    REQUIRE(back.ok());
    CHECK(back.data == text);
    CHECK(gunzip(*compressed, 100).status == DecompressStatus::TooLarge);
    CHECK(gunzip("not gzip", 100).status == DecompressStatus::Corrupt);
    CHECK(gunzip(compressed->substr(0, compressed->size() / 2), 1 << 20).status ==
          DecompressStatus::Corrupt);
}

TEST_CASE("encode_response frames the body", "[unit][http]") {
    HttpResponse response = HttpResponse::text(404, "nope\n");
    response.headers.add("Content-Length", "999");  // the server's to set
    const std::string bytes = encode_response(response, ResponseFraming{.close = true});
    CHECK(bytes.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
    CHECK(bytes.find("Content-Length: 5\r\n") != std::string::npos);
    CHECK(bytes.find("999") == std::string::npos);
    CHECK(bytes.find("Connection: close\r\n") != std::string::npos);
    CHECK(bytes.substr(bytes.size() - 9) == "\r\n\r\nnope\n");

    HttpResponse big = HttpResponse::text(200, std::string(5000, 'a'));
    const std::string head = encode_response(big, ResponseFraming{.head_request = true});
    CHECK(head.find("Content-Length: 5000\r\n") != std::string::npos);
    CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
    CHECK(head.find("Vary: Accept-Encoding\r\n") != std::string::npos);
}

}  // namespace
}  // namespace sonde::net

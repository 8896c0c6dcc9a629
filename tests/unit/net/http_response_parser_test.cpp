#include "prober/net/http_response_parser.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "prober/net/http_client.hpp"

namespace sonde::net {
namespace {

using State = HttpResponseParser::State;

// Feeds text one byte at a time, as the slowest network would deliver it.
void feed_bytewise(HttpResponseParser& parser, const std::string& text) {
    for (const char c : text) {
        (void)parser.feed(std::string_view(&c, 1));
    }
}

TEST_CASE("a Content-Length response, whole or byte by byte", "[unit]") {
    const std::string text =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
        "Content-Length: 5\r\n\r\nhello";
    const bool bytewise = GENERATE(false, true);
    HttpResponseParser parser;
    if (bytewise) {
        feed_bytewise(parser, text);
    } else {
        CHECK(parser.feed(text) == text.size());
    }
    REQUIRE(parser.state() == State::Complete);
    CHECK(parser.head().status == 200);
    CHECK(parser.head().reason == "OK");
    CHECK(parser.head().version() == "HTTP/1.1");
    CHECK(parser.head().content_length == 5);
    CHECK(parser.head().headers.joined("SET-COOKIE") == "a=1, b=2");
    CHECK(parser.head().headers.fields()[0].name == "Content-Type");
    CHECK(parser.body() == "hello");
}

TEST_CASE("chunked bodies have content length -1", "[unit]") {
    HttpResponseParser parser;
    (void)parser.feed(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
        "6\r\n world\r\n0\r\n\r\n");
    REQUIRE(parser.state() == State::Complete);
    CHECK(parser.head().content_length == -1);
    CHECK(parser.body() == "hello world");
}

TEST_CASE("a close-delimited HTTP/1.0 body ends at EOF", "[unit]") {
    HttpResponseParser parser;
    (void)parser.feed("HTTP/1.0 200 OK\r\n\r\nuntil the end");
    CHECK(parser.state() == State::Body);
    parser.finish();
    REQUIRE(parser.state() == State::Complete);
    CHECK(parser.head().version() == "HTTP/1.0");
    CHECK(parser.head().content_length == -1);
    CHECK(parser.body() == "until the end");
}

TEST_CASE("1xx interim responses are skipped", "[unit]") {
    HttpResponseParser parser;
    const std::string text =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
    (void)parser.feed(text);
    REQUIRE(parser.state() == State::Complete);
    CHECK(parser.head().status == 404);
    CHECK_FALSE(parser.head().headers.contains("Link"));
    CHECK(parser.body() == "no");
}

TEST_CASE("HEAD and CONNECT answers have no body; bytes after the response are left", "[unit]") {
    HttpResponseParser head(HttpResponseLimits{}, RequestKind::Head);
    (void)head.feed("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
    REQUIRE(head.state() == State::Complete);
    CHECK(head.head().content_length == 1234);

    HttpResponseParser tunnel(HttpResponseLimits{}, RequestKind::Connect);
    const std::string text = "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01";
    const std::size_t used = tunnel.feed(text);
    REQUIRE(tunnel.state() == State::Complete);
    CHECK(text.substr(used) == "\x16\x03\x01");

    HttpResponseParser pipelined;
    const std::string two = "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    CHECK(pipelined.feed(two) == two.find("HTTP/1.1 200"));
    CHECK(pipelined.head().status == 204);
    CHECK(pipelined.head().content_length == 0);
}

TEST_CASE("caps: header bytes and buffered body bytes", "[unit]") {
    HttpResponseLimits limits;
    limits.max_header_bytes = 100;
    limits.max_body_bytes = 10;
    HttpResponseParser headers(limits);
    (void)headers.feed("HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n");
    REQUIRE(headers.state() == State::Failed);
    CHECK(headers.failed_on_limit());
    CHECK_FALSE(headers.headers_done());
    CHECK(headers.error() == "response headers exceed 100 bytes");

    HttpResponseParser body(limits);
    (void)body.feed("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
    REQUIRE(body.state() == State::Failed);
    CHECK(body.failed_on_limit());
    CHECK(body.headers_done());
    CHECK(body.error() == "response body exceeds 10 bytes");

    // Draining the body as it comes keeps the cap from counting what was taken.
    HttpResponseParser drained(limits);
    (void)drained.feed("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n12345678");
    CHECK(drained.take_body() == "12345678");
    (void)drained.feed("abcdefgh");
    CHECK(drained.state() == State::Complete);
    CHECK(drained.body_bytes() == 16);
}

TEST_CASE("malformed responses and early EOF fail with a reason", "[unit]") {
    HttpResponseParser garbage;
    (void)garbage.feed("SSH-2.0-OpenSSH_9.2\r\n");
    REQUIRE(garbage.state() == State::Failed);
    CHECK_FALSE(garbage.failed_on_limit());
    CHECK_THAT(garbage.error(), Catch::StartsWith("malformed HTTP response: HPE_"));

    HttpResponseParser silent;
    silent.finish();
    CHECK(silent.error() == "the server closed the connection without sending a response");

    HttpResponseParser mid_body;
    (void)mid_body.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    mid_body.finish();
    REQUIRE(mid_body.state() == State::Failed);
    CHECK(mid_body.error() ==
          "the server closed the connection in the middle of the response body (3 bytes read)");

    HttpResponseParser mid_chunk;
    (void)mid_chunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    mid_chunk.finish();
    CHECK(mid_chunk.state() == State::Failed);
}

TEST_CASE("encode_request writes Host first and owns the framing", "[unit]") {
    HttpClientRequest request;
    request.method = "POST";
    request.target = "/x?y=1";
    request.headers.add("User-Agent", "Blackbox-Exporter/0.28.0");
    request.headers.add("Host", "example.com:8080");
    request.headers.add("Connection", "keep-alive");
    request.body = "abc";
    CHECK(encode_request(request) ==
          "POST /x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
          "User-Agent: Blackbox-Exporter/0.28.0\r\nContent-Length: 3\r\nConnection: close\r\n"
          "\r\nabc");
    request.method = "GET";
    request.body.clear();
    CHECK(encode_request(request, "http://example.com:8080") ==
          "GET http://example.com:8080/x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
          "User-Agent: Blackbox-Exporter/0.28.0\r\nConnection: close\r\n\r\n");
}

}  // namespace
}  // namespace sonde::net

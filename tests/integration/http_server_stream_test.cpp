// HttpResponder::respond_streaming: a body produced piece by piece reaches the client whole
// (chunked, close-delimited for HTTP/1.0, gzipped on the fly), the connection stays usable
// afterwards, and a client that leaves or a server that stops mid-body drops the source
// without calling it again (ASan checks nothing of the session is touched afterwards).

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "prober/net/decompress.hpp"
#include "prober/net/gzip.hpp"
#include "prober/net/http_server.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/raw_http_client.hpp"

namespace sonde::net {
namespace {

using test::get_request;
using test::LoopFixture;
using test::RawHttpClient;

// A response split into head and body; the body de-chunked when chunked. Empty optional-like
// `complete` false while the body is not all there.
struct Received {
    bool complete = false;
    std::string head;
    std::string body;
    std::string rest;  // bytes after the body (a next response)
};

Received parse(const std::string& bytes, bool chunked) {
    Received r;
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string::npos) {
        return r;
    }
    r.head = bytes.substr(0, end + 2);
    std::size_t at = end + 4;
    if (!chunked) {
        r.body = bytes.substr(at);
        r.complete = true;
        return r;
    }
    for (;;) {
        const auto line_end = bytes.find("\r\n", at);
        if (line_end == std::string::npos) {
            return r;
        }
        const std::size_t size = std::stoul(bytes.substr(at, line_end - at), nullptr, 16);
        if (bytes.size() < line_end + 2 + size + 2) {
            return r;
        }
        if (size == 0) {
            r.complete = true;
            r.rest = bytes.substr(line_end + 4);
            return r;
        }
        r.body += bytes.substr(line_end + 2, size);
        at = line_end + 2 + size + 2;
    }
}

// Numbered lines, `pieces` pieces of `lines` each; counts its calls and its destruction.
struct Counter {
    int calls = 0;
    int destroyed = 0;
};

HttpResponder::BodySource numbered(Counter& counter, int pieces, int lines) {
    struct Guard {
        Counter* counter;
        ~Guard() { ++counter->destroyed; }
    };
    auto guard = std::shared_ptr<Guard>(new Guard{&counter});
    return [&counter, guard, pieces, lines, piece = 0](std::string& out) mutable {
        ++counter.calls;
        for (int i = 0; i < lines; ++i) {
            out += "line " + std::to_string(piece) + "." + std::to_string(i) + "\n";
        }
        ++piece;
        return pieces < 0 || piece < pieces;  // pieces < 0: endless
    };
}

std::string numbered_text(int pieces, int lines) {
    std::string out;
    for (int p = 0; p < pieces; ++p) {
        for (int i = 0; i < lines; ++i) {
            out += "line " + std::to_string(p) + "." + std::to_string(i) + "\n";
        }
    }
    return out;
}

std::unique_ptr<HttpServer> streaming_server(LoopFixture& fx, Counter& counter, int pieces,
                                             int lines) {
    auto server = std::make_unique<HttpServer>(
        fx.loop(), [&counter, pieces, lines](const HttpRequest& request, HttpResponder responder) {
            if (request.path == "/small") {
                responder.respond(HttpResponse::text(200, "small"));
                return;
            }
            responder.respond_streaming(HttpResponse::text(200, ""),
                                        numbered(counter, pieces, lines));
        });
    REQUIRE(server->listen("127.0.0.1:0"));
    return server;
}

}  // namespace

TEST_CASE("a streamed body arrives whole, chunked, and the connection serves the next request",
          "[integration][http_server][stream]") {
    LoopFixture fx;
    Counter counter;
    auto server = streaming_server(fx, counter, 50, 2000);
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/big") + get_request("/small"));
    REQUIRE(fx.run_until([&] {
        const auto r = parse(client.received(), true);
        return r.complete && r.rest.find("small") != std::string::npos;
    }));
    const auto r = parse(client.received(), true);
    CHECK(r.head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(r.head.find("Content-Length") == std::string::npos);
    CHECK(r.body == numbered_text(50, 2000));
    CHECK(counter.calls == 50);
    CHECK(r.rest.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(server->stats().requests == 2);
    server.reset();
    client.close();
    REQUIRE(fx.close() == 0);
    CHECK(counter.destroyed == 1);
}

TEST_CASE("a streamed body is gzipped on the fly for clients that accept it",
          "[integration][http_server][stream]") {
    LoopFixture fx;
    Counter counter;
    auto server = streaming_server(fx, counter, 20, 3000);
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/big", "Accept-Encoding: gzip\r\n"));
    REQUIRE(fx.run_until([&] { return parse(client.received(), true).complete; }));
    const auto r = parse(client.received(), true);
    CHECK(r.head.find("Content-Encoding: gzip\r\n") != std::string::npos);
    CHECK(r.head.find("Vary: Accept-Encoding\r\n") != std::string::npos);
    const std::string expected = numbered_text(20, 3000);
    CHECK(r.body.size() < expected.size() / 4);
    auto unzipped = gunzip(r.body, 64 << 20);
    REQUIRE(unzipped.ok());
    CHECK(unzipped.data == expected);
    server.reset();
    client.close();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("an HTTP/1.0 client gets a streamed body ended by the close; HEAD gets no body",
          "[integration][http_server][stream]") {
    LoopFixture fx;
    Counter counter;
    auto server = streaming_server(fx, counter, 5, 100);
    RawHttpClient old(fx.loop());
    old.connect(server->bound_port(), "GET /big HTTP/1.0\r\n\r\n");
    REQUIRE(fx.run_until([&] { return old.ended(); }));
    const auto r = parse(old.received(), false);
    CHECK(r.head.find("Connection: close\r\n") != std::string::npos);
    CHECK(r.head.find("Transfer-Encoding") == std::string::npos);
    CHECK(r.body == numbered_text(5, 100));

    Counter head_counter;
    auto head_server = streaming_server(fx, head_counter, 5, 100);
    RawHttpClient head(fx.loop());
    head.connect(head_server->bound_port(),
                 "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/small"));
    REQUIRE(fx.run_until([&] { return head.received().find("small") != std::string::npos; }));
    CHECK(head.received().find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(head.received().find("line") == std::string::npos);
    CHECK(head_counter.calls == 0);
    server.reset();
    head_server.reset();
    old.close();
    head.close();
    REQUIRE(fx.close() == 0);
    CHECK(head_counter.destroyed == 1);
}

TEST_CASE("a client that leaves mid-body, or a server stopped mid-body, drops the source",
          "[integration][http_server][stream]") {
    LoopFixture fx;
    const bool client_leaves = GENERATE(true, false);
    Counter counter;
    auto server = streaming_server(fx, counter, -1, 2000);  // endless
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/endless"));
    REQUIRE(fx.run_until([&] { return client.received().size() > 1000000; }));
    if (client_leaves) {
        client.close();
        REQUIRE(fx.run_until([&] { return counter.destroyed == 1; }));
        CHECK(server->connection_count() == 0);
    } else {
        server->stop();
        CHECK(counter.destroyed == 1);
        REQUIRE(fx.run_until([&] { return client.ended(); }));
    }
    const int calls = counter.calls;
    fx.loop().run_once_nowait();
    CHECK(counter.calls == calls);
    server.reset();
    client.close();
    REQUIRE(fx.close() == 0);
}

}  // namespace sonde::net

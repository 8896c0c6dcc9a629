#include "prober/net/http_server.hpp"

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "prober/net/decompress.hpp"
#include "prober/net/gzip.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/raw_http_client.hpp"

namespace sonde::net {
namespace {

using test::get_request;
using test::LoopFixture;
using test::RawHttpClient;

// A handler that answers at once with the request's method, path and body.
HttpHandler echo_handler(std::vector<HttpRequest>& seen) {
    return [&seen](const HttpRequest& request, HttpResponder responder) {
        seen.push_back(request);
        responder.respond(
            HttpResponse::text(200, request.method + " " + request.path + " " + request.body));
    };
}

std::unique_ptr<HttpServer> start_echo_server(LoopFixture& fx, HttpHandler handler,
                                              HttpServerLimits limits = {}) {
    auto server = std::make_unique<HttpServer>(fx.loop(), std::move(handler), limits);
    auto listening = server->listen("127.0.0.1:0");
    REQUIRE(listening);
    REQUIRE(server->bound_port() != 0);
    return server;
}

TEST_CASE("GET is answered with status, headers and body", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    auto server = start_echo_server(fx, echo_handler(seen));
    REQUIRE(server->bound_addresses().size() == 1);
    CHECK(server->bound_addresses()[0] == "127.0.0.1:" + std::to_string(server->bound_port()));

    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(),
                   get_request("/probe%2Fx?target=a%3Ab&module=http",
                               "X-Prometheus-Scrape-Timeout-Seconds: 9.5\r\n"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
    const auto response = client.responses()[0];
    CHECK(response.status == 200);
    CHECK(response.body == "GET /probe/x ");
    CHECK(*response.headers.find("content-length") == "13");
    CHECK(*response.headers.find("content-type") == "text/plain; charset=utf-8");
    CHECK(response.headers.find("connection") == nullptr);  // keep-alive by default

    REQUIRE(seen.size() == 1);
    CHECK(seen[0].target == "/probe%2Fx?target=a%3Ab&module=http");
    CHECK(seen[0].query == "target=a%3Ab&module=http");
    REQUIRE(seen[0].header("x-prometheus-scrape-timeout-seconds") != nullptr);
    CHECK(*seen[0].header("x-prometheus-scrape-timeout-seconds") == "9.5");
    auto params = seen[0].query_params();
    REQUIRE(params);
    CHECK(*params->get("target") == "a:b");
    CHECK_FALSE(seen[0].peer.empty());
    CHECK(server->stats().requests == 1);

    server.reset();
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("keep-alive serves several requests on one connection, in order",
          "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    auto server = start_echo_server(fx, echo_handler(seen));
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/one"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
    client.send(get_request("/two"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 2; }));

    SECTION("sequentially") {
    }
    SECTION("pipelined in one write") {
        client.send(get_request("/three") + get_request("/four") + get_request("/five"));
        REQUIRE(fx.run_until([&] { return client.responses().size() == 5; }));
        CHECK(client.responses()[4].body == "GET /five ");
    }
    CHECK(client.responses()[0].body == "GET /one ");
    CHECK(client.responses()[1].body == "GET /two ");
    CHECK(server->stats().connections_accepted == 1);
    CHECK_FALSE(client.ended());
    CHECK(server->connection_count() == 1);

    server.reset();
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("Connection: close and HTTP/1.0 close after the reply", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    auto server = start_echo_server(fx, echo_handler(seen));
    RawHttpClient client(fx.loop());
    const std::string request = GENERATE(std::string("GET /a HTTP/1.0\r\n\r\n"),
                                         get_request("/a", "Connection: close\r\n"));
    // The second request must not be handled: the connection ends with the first reply.
    client.connect(server->bound_port(), request + get_request("/b"));
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    REQUIRE(client.responses().size() == 1);
    CHECK(*client.responses()[0].headers.find("connection") == "close");
    CHECK(seen.size() == 1);

    SECTION("HTTP/1.0 with keep-alive stays open") {
        RawHttpClient keep(fx.loop());
        keep.connect(server->bound_port(), "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        REQUIRE(fx.run_until([&] { return keep.responses().size() == 1; }));
        CHECK(*keep.responses()[0].headers.find("connection") == "keep-alive");
        keep.send("GET /k2 HTTP/1.0\r\n\r\n");
        REQUIRE(fx.run_until([&] { return keep.ended(); }));
        CHECK(keep.responses().size() == 2);
    }
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a handler may answer on a later iteration", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpResponder> held;
    auto server = start_echo_server(fx, [&](const HttpRequest& request, HttpResponder responder) {
        held.push_back(std::move(responder));
        fx.loop().post([&, path = request.path] {
            held.back().respond(HttpResponse::text(202, "later " + path));
            held.back().respond(HttpResponse::text(500, "twice"));  // ignored
        });
    });
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/slow"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
    CHECK(client.responses()[0].status == 202);
    CHECK(client.responses()[0].body == "later /slow");
    CHECK_FALSE(held.back().connected());
    // The connection is reusable afterwards.
    client.send(get_request("/again"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 2; }));
    CHECK(client.responses()[1].body == "later /again");
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a handler that drops its responder yields 500", "[integration][http_server]") {
    LoopFixture fx;
    auto server = start_echo_server(fx, [](const HttpRequest&, HttpResponder) {});
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
    CHECK(client.responses()[0].status == 500);
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a client that disconnects cancels its in-flight request", "[integration][http_server]") {
    LoopFixture fx;
    HttpResponder held;
    int cancels = 0;
    auto server = start_echo_server(fx, [&](const HttpRequest&, HttpResponder responder) {
        held = std::move(responder);
        held.on_cancel([&] { ++cancels; });
    });
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/probe?target=x"));
    REQUIRE(fx.run_until([&] { return held.connected(); }));
    client.close();
    REQUIRE(fx.run_until([&] { return cancels == 1; }));
    CHECK_FALSE(held.connected());
    CHECK(server->stats().cancelled == 1);
    held.respond(HttpResponse::text(200, "too late"));  // a harmless no-op
    held.on_cancel([&] { ++cancels; });                 // not kept: the connection is gone
    CHECK(server->connection_count() == 0);
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
    CHECK(cancels == 1);
}

TEST_CASE("oversized headers are refused with 431", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    HttpServerLimits limits;
    limits.max_header_bytes = 1024;
    auto server = start_echo_server(fx, echo_handler(seen), limits);
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(),
                   get_request("/", "X-Big: " + std::string(4000, 'b') + "\r\n"));
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    REQUIRE(client.responses().size() == 1);
    CHECK(client.responses()[0].status == 431);
    CHECK(*client.responses()[0].headers.find("connection") == "close");
    CHECK(seen.empty());
    CHECK(server->stats().bad_requests == 1);
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a malformed request gets 400 with llhttp's reason", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    auto server = start_echo_server(fx, echo_handler(seen));
    RawHttpClient client(fx.loop());
    const std::string garbage = GENERATE(std::string("NOT HTTP AT ALL\r\n\r\n"),
                                         std::string("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
                                         std::string("GET /x%zz HTTP/1.1\r\nHost: a\r\n\r\n"));
    client.connect(server->bound_port(), garbage);
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    REQUIRE(client.responses().size() == 1);
    CHECK(client.responses()[0].status == 400);
    const std::string body = client.responses()[0].body;
    CHECK((body.find("HPE_") != std::string::npos ||
           body.find("invalid URL escape") != std::string::npos));
    CHECK(seen.empty());
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a silent client is disconnected by the header timeout", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    HttpServerLimits limits;
    limits.header_timeout_ms = 200;
    limits.idle_timeout_ms = 200;
    auto server = start_echo_server(fx, echo_handler(seen), limits);
    RawHttpClient client(fx.loop());
    const std::string partial = GENERATE(std::string(), std::string("GET / HTTP/1.1\r\nHost:"));
    const auto started = Loop::now_ns();
    client.connect(server->bound_port(), partial);
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    const auto elapsed_ms = (Loop::now_ns() - started) / 1'000'000;
    CHECK(elapsed_ms >= 150);
    CHECK(client.received().empty());
    CHECK(server->stats().timeouts == 1);
    CHECK(seen.empty());

    SECTION("and an idle keep-alive connection by the idle timeout") {
        RawHttpClient idle(fx.loop());
        idle.connect(server->bound_port(), get_request("/"));
        REQUIRE(fx.run_until([&] { return idle.ended(); }));
        CHECK(idle.responses().size() == 1);
        CHECK(server->stats().timeouts == 2);
    }
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("large bodies are gzipped only when the client accepts it",
          "[integration][http_server]") {
    LoopFixture fx;
    std::string payload;
    for (int i = 0; payload.size() < 20000; ++i) {
        payload += "probe_success{instance=\"" + std::to_string(i) + "\"} 1\n";
    }
    auto server = start_echo_server(fx, [&](const HttpRequest&, HttpResponder responder) {
        responder.respond(HttpResponse::text(200, payload));
    });
    RawHttpClient gzip_client(fx.loop());
    gzip_client.connect(server->bound_port(),
                        get_request("/metrics", "Accept-Encoding: gzip, deflate\r\n"));
    RawHttpClient plain_client(fx.loop());
    plain_client.connect(server->bound_port(), get_request("/metrics"));
    REQUIRE(fx.run_until([&] {
        return gzip_client.responses().size() == 1 && plain_client.responses().size() == 1;
    }));

    const auto zipped = gzip_client.responses()[0];
    REQUIRE(zipped.headers.find("content-encoding") != nullptr);
    CHECK(*zipped.headers.find("content-encoding") == "gzip");
    CHECK(*zipped.headers.find("vary") == "Accept-Encoding");
    CHECK(zipped.body.size() < payload.size());
    auto unzipped = gunzip(zipped.body, 1 << 20);
    REQUIRE(unzipped.ok());
    CHECK(unzipped.data == payload);

    const auto plain = plain_client.responses()[0];
    CHECK(plain.headers.find("content-encoding") == nullptr);
    CHECK(*plain.headers.find("vary") == "Accept-Encoding");
    CHECK(plain.body == payload);
    server.reset();
    gzip_client.close();
    plain_client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("small bodies are not gzipped", "[integration][http_server]") {
    LoopFixture fx;
    auto server = start_echo_server(fx, [](const HttpRequest&, HttpResponder responder) {
        responder.respond(HttpResponse::text(200, "OK"));
    });
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), get_request("/-/healthy", "Accept-Encoding: gzip\r\n"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
    CHECK(client.responses()[0].headers.find("content-encoding") == nullptr);
    CHECK(client.responses()[0].body == "OK");
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("destroying the server with requests in flight is safe", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpResponder> held;
    int cancels = 0;
    std::unique_ptr<HttpServer> server;
    bool destroy_inside = false;
    server = start_echo_server(fx, [&](const HttpRequest&, HttpResponder responder) {
        responder.on_cancel([&] { ++cancels; });
        held.push_back(std::move(responder));
        if (destroy_inside) {
            server.reset();  // from inside the server's own handler
        }
    });
    RawHttpClient a(fx.loop());
    RawHttpClient b(fx.loop());
    a.connect(server->bound_port(), get_request("/probe"));
    b.connect(server->bound_port(), "GET /partial HTTP/1.1\r\n");
    REQUIRE(fx.run_until([&] { return held.size() == 1 && b.connected(); }));

    SECTION("from outside") {
        server.reset();
    }
    SECTION("from inside the handler") {
        destroy_inside = true;
        RawHttpClient c(fx.loop());
        c.connect(server->bound_port(), get_request("/trigger"));
        REQUIRE(fx.run_until([&] { return server == nullptr; }));
        REQUIRE(fx.run_until([&] { return c.ended(); }));
    }
    REQUIRE(fx.run_until([&] { return a.ended() && b.ended(); }));
    CHECK(a.received().empty());
    for (auto& responder : held) {
        CHECK_FALSE(responder.connected());
        responder.respond(HttpResponse::text(200, "no-op"));
    }
    CHECK(cancels == 0);  // the owner stopped the server; it cancels its own work
    a.close();
    b.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("stop closes listeners and connections", "[integration][http_server]") {
    LoopFixture fx;
    HttpResponder held;
    auto server = start_echo_server(
        fx, [&](const HttpRequest&, HttpResponder responder) { held = std::move(responder); });
    const auto port = server->bound_port();
    RawHttpClient a(fx.loop());
    a.connect(port, get_request("/"));
    REQUIRE(fx.run_until([&] { return held.connected(); }));
    server->stop();
    CHECK_FALSE(held.connected());
    CHECK(server->connection_count() == 0);
    REQUIRE(fx.run_until([&] { return a.ended(); }));
    RawHttpClient late(fx.loop());
    late.connect(port, get_request("/"));
    REQUIRE(fx.run_until([&] { return late.ended(); }));
    CHECK(late.connect_status() == UV_ECONNREFUSED);
    server.reset();
    a.close();
    late.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("IPv6 loopback", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    HttpServer server(fx.loop(), echo_handler(seen));
    auto listening = server.listen("[::1]:0");
    if (!listening) {
        WARN("no IPv6 loopback here: " << listening.error());
        server.stop();
        REQUIRE(fx.close() == 0);
        return;
    }
    REQUIRE(server.bound_addresses().size() == 1);
    CHECK(server.bound_addresses()[0] == "[::1]:" + std::to_string(server.bound_port()));
    RawHttpClient client(fx.loop());
    client.connect(*IpAddress::parse("::1"), server.bound_port(), get_request("/six"));
    REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
    CHECK(client.responses()[0].body == "GET /six ");
    CHECK(seen[0].peer.rfind("[::1]:", 0) == 0);
    server.stop();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("listen address forms", "[integration][http_server]") {
    LoopFixture fx;
    HttpServer server(fx.loop(), [](const HttpRequest&, HttpResponder) {});
    REQUIRE(server.listen("localhost:0"));
    CHECK(server.bound_addresses()[0].rfind("127.0.0.1:", 0) == 0);
    REQUIRE(server.listen(":0"));
    CHECK(server.bound_addresses().size() == 2);
    CHECK_FALSE(server.listen("127.0.0.1"));
    CHECK_FALSE(server.listen("127.0.0.1:http"));
    CHECK_FALSE(server.listen("127.0.0.1:70000"));
    const auto taken = "127.0.0.1:" + std::to_string(server.bound_port());
    auto busy = server.listen(taken);
    REQUIRE_FALSE(busy);
    CHECK(busy.error().find("EADDRINUSE") != std::string::npos);
    server.stop();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("POST bodies are read, by length or chunked, within the limit",
          "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    HttpServerLimits limits;
    limits.max_body_bytes = 64;
    auto server = start_echo_server(fx, echo_handler(seen), limits);
    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(),
                   "POST /-/reload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                   "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    REQUIRE(fx.run_until([&] { return client.responses().size() == 2; }));
    CHECK(client.responses()[0].body == "POST /-/reload hello");
    CHECK(client.responses()[1].body == "POST /c abcde");

    SECTION("too long by Content-Length") {
        client.send("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n");
    }
    SECTION("too long in chunks") {
        client.send("POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                    std::string(64, 'x') + "\r\n1\r\ny\r\n0\r\n\r\n");
    }
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    REQUIRE(client.responses().size() == 3);
    CHECK(client.responses()[2].status == 413);
    CHECK(seen.size() == 2);
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("Expect: 100-continue gets an interim reply", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    auto server = start_echo_server(fx, echo_handler(seen));
    RawHttpClient client(fx.loop());
    client.connect(
        server->bound_port(),
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    REQUIRE(
        fx.run_until([&] { return client.received().find("100 Continue") != std::string::npos; }));
    client.send("ok");
    REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
    CHECK(client.responses()[0].body == "POST /x ok");
    server.reset();
    client.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

TEST_CASE("connections beyond the limit are accepted and closed", "[integration][http_server]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    HttpServerLimits limits;
    limits.max_connections = 1;
    auto server = start_echo_server(fx, echo_handler(seen), limits);
    RawHttpClient first(fx.loop());
    first.connect(server->bound_port(), get_request("/first"));
    REQUIRE(fx.run_until([&] { return first.responses().size() == 1; }));
    RawHttpClient second(fx.loop());
    second.connect(server->bound_port(), get_request("/second"));
    REQUIRE(fx.run_until([&] { return second.ended(); }));
    CHECK(second.responses().empty());
    CHECK(server->stats().connections_rejected == 1);
    CHECK(server->connection_count() == 1);

    // Once the first leaves, a new connection is served again.
    first.close();
    REQUIRE(fx.run_until([&] { return server->connection_count() == 0; }));
    RawHttpClient third(fx.loop());
    third.connect(server->bound_port(), get_request("/third"));
    REQUIRE(fx.run_until([&] { return third.responses().size() == 1; }));
    CHECK(seen.size() == 2);
    server.reset();
    first.close();
    second.close();
    third.close();  // clients first: fx.close() proves no handle leaked
    REQUIRE(fx.close() == 0);
}

}  // namespace
}  // namespace sonde::net

// HttpExchange against sonde's own HttpServer on loopback: the normal exchanges.
#include "prober/net/http_client.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "prober/net/http_server.hpp"
#include "tests/support/http_client_harness.hpp"
#include "tests/support/loop_fixture.hpp"

namespace sonde::net {
namespace {

using test::ExchangeRun;
using test::LoopFixture;

std::unique_ptr<HttpServer> start_server(LoopFixture& fx, HttpHandler handler,
                                         const char* address = "127.0.0.1:0") {
    auto server = std::make_unique<HttpServer>(fx.loop(), std::move(handler));
    REQUIRE(server->listen(address));
    REQUIRE(server->bound_port() != 0);
    return server;
}

void check_ordered_times(const HttpExchangeTimes& t) {
    CHECK(t.start_ns != 0);
    CHECK(t.start_ns <= t.connect_done_ns);
    CHECK(t.connect_done_ns <= t.conn_ready_ns);
    CHECK(t.conn_ready_ns <= t.first_byte_ns);
    CHECK(t.first_byte_ns <= t.body_done_ns);
}

TEST_CASE("GET over TCP: status, headers, body and ordered phases", "[integration][http_client]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    auto server = start_server(fx, [&](const HttpRequest& request, HttpResponder responder) {
        seen.push_back(request);
        HttpResponse response = HttpResponse::text(200, "hello " + request.target);
        response.headers.add("X-Multi", "one");
        response.headers.add("X-Multi", "two");
        responder.respond(std::move(response));
    });

    ExchangeRun run(fx.loop());
    run.start(test::local_exchange(server->bound_port()),
              test::client_get("/path?q=1", "example.test"));
    REQUIRE(fx.run_until([&] { return run.calls > 0; }));
    REQUIRE(run.calls == 1);
    REQUIRE_FALSE(run.error);

    const HttpClientResponse& response = run.exchange->response();
    CHECK(response.head.status == 200);
    CHECK(response.head.reason == "OK");
    CHECK(response.head.version() == "HTTP/1.1");
    CHECK(response.body == "hello /path?q=1");
    CHECK(response.head.content_length == static_cast<std::int64_t>(response.body.size()));
    CHECK(response.head.headers.joined("x-multi") == "one, two");
    CHECK(run.exchange->tls_session() == nullptr);
    check_ordered_times(run.exchange->times());
    CHECK(run.exchange->times().tls_start_ns == 0);

    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "GET");
    CHECK(*seen[0].header("Host") == "example.test");
    // Keep-alives are off, as in the exporter.
    CHECK(*seen[0].header("Connection") == "close");
    CHECK_FALSE(seen[0].keep_alive);
    CHECK(seen[0].header("Accept-Encoding") == nullptr);

    run.exchange.reset();
    server.reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("POST sends the body with its Content-Length and headers round trip",
          "[integration][http_client]") {
    LoopFixture fx;
    std::vector<HttpRequest> seen;
    auto server = start_server(fx, [&](const HttpRequest& request, HttpResponder responder) {
        seen.push_back(request);
        HttpResponse response = HttpResponse::text(201, request.body);
        response.headers.add("X-Echo",
                             request.header("X-Custom") ? *request.header("X-Custom") : "missing");
        responder.respond(std::move(response));
    });

    ExchangeRun run(fx.loop());
    HttpClientRequest request = test::client_get("/submit", "example.test");
    request.method = "POST";
    request.body = "payload=1";
    request.headers.add("X-Custom", "value with spaces");
    request.headers.add("Content-Length", "999");  // the exchange owns the framing
    run.start(test::local_exchange(server->bound_port()), std::move(request));
    REQUIRE(fx.run_until([&] { return run.calls > 0; }));
    REQUIRE_FALSE(run.error);
    CHECK(run.exchange->response().head.status == 201);
    CHECK(run.exchange->response().body == "payload=1");
    CHECK(*run.exchange->response().head.headers.find("x-echo") == "value with spaces");
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].body == "payload=1");
    CHECK(*seen[0].header("content-length") == "9");

    run.exchange.reset();
    server.reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("GET over IPv6 loopback", "[integration][http_client]") {
    LoopFixture fx;
    auto server =
        std::make_unique<HttpServer>(fx.loop(), [](const HttpRequest&, HttpResponder responder) {
            responder.respond(HttpResponse::text(200, "v6"));
        });
    if (!server->listen("[::1]:0")) {
        server.reset();
        REQUIRE(fx.close() == 0);
        WARN("no IPv6 loopback here");
        return;
    }
    ExchangeRun run(fx.loop());
    run.start(test::local_exchange(server->bound_port(), "::1"), test::client_get("/", "[::1]"));
    REQUIRE(fx.run_until([&] { return run.calls > 0; }));
    REQUIRE_FALSE(run.error);
    CHECK(run.exchange->response().body == "v6");

    run.exchange.reset();
    server.reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a refused connection is a Connect error, reported later and once",
          "[integration][http_client]") {
    LoopFixture fx;
    // Bind a port, then close it, so nothing listens there.
    std::uint16_t port = 0;
    {
        auto server = start_server(fx, [](const HttpRequest&, HttpResponder) {});
        port = server->bound_port();
    }
    ExchangeRun run(fx.loop());
    run.start(test::local_exchange(port), test::client_get("/", "example.test"));
    CHECK(run.calls == 0);  // never inside start()
    REQUIRE(fx.run_until([&] { return run.calls > 0; }));
    REQUIRE(run.error);
    CHECK(run.error->kind == HttpErrorKind::Connect);
    CHECK_THAT(run.error->message, Catch::Contains("ECONNREFUSED"));
    CHECK(run.exchange->response().head.status == 0);

    run.exchange.reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("the owner may destroy the exchange inside done", "[integration][http_client]") {
    LoopFixture fx;
    auto server = start_server(fx, [](const HttpRequest&, HttpResponder responder) {
        responder.respond(HttpResponse::text(200, "x"));
    });
    auto exchange = std::make_unique<HttpExchange>(fx.loop());
    int calls = 0;
    exchange->start(test::local_exchange(server->bound_port()),
                    test::client_get("/", "example.test"), [&](std::optional<HttpError> error) {
                        ++calls;
                        CHECK_FALSE(error);
                        exchange.reset();
                    });
    REQUIRE(fx.run_until([&] { return calls > 0; }));
    CHECK(exchange == nullptr);
    server.reset();
    REQUIRE(fx.close() == 0);
}

}  // namespace
}  // namespace sonde::net

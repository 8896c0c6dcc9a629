// HttpExchange against hostile and odd peers (scripted raw servers), over TLS, through a
// CONNECT proxy, in streaming mode, and destroyed in every state.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "prober/net/http_client.hpp"
#include "prober/net/http_server.hpp"
#include "tests/support/connect_proxy.hpp"
#include "tests/support/http_client_harness.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde::net {
namespace {

using test::ExchangeRun;
using test::LoopFixture;
using test::ScriptedTcpServer;

// A server that answers `reply` once the request head is in, then half-closes when asked.
ScriptedTcpServer::OnLine reply_with(std::string reply, bool then_eof) {
    return [reply = std::move(reply), then_eof](ScriptedTcpServer::Connection& conn,
                                                std::string_view line) {
        if (!line.empty()) {
            return;
        }
        conn.write(reply);
        if (then_eof) {
            conn.stream->shutdown_write();
        }
    };
}

std::optional<HttpError> run_against(LoopFixture& fx, const std::string& reply, bool then_eof,
                                     HttpExchangeLimits limits = {},
                                     HttpClientResponse* out = nullptr) {
    ScriptedTcpServer server(fx.loop(), {}, reply_with(reply, then_eof));
    ExchangeRun run(fx.loop());
    HttpExchangeOptions options = test::local_exchange(server.port());
    options.limits = limits;
    run.start(std::move(options), test::client_get("/", "localhost"));
    REQUIRE(fx.run_until([&] { return run.calls > 0; }));
    CHECK(run.calls == 1);
    if (out != nullptr) {
        *out = run.exchange->response();
    }
    return run.error;
}

TEST_CASE("chunked and close-delimited bodies", "[integration][http_client]") {
    LoopFixture fx;
    {
        HttpClientResponse response;
        auto error = run_against(fx,
                                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n",
                                 false, {}, &response);
        CHECK_FALSE(error);
        CHECK(response.body == "wikipedia");
        CHECK(response.head.content_length == -1);

        error =
            run_against(fx, "HTTP/1.0 200 OK\r\nX-A: b\r\n\r\nuntil close", true, {}, &response);
        CHECK_FALSE(error);
        CHECK(response.head.version() == "HTTP/1.0");
        CHECK(response.body == "until close");
        CHECK(response.head.content_length == -1);
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("hostile peers fail the exchange with an actionable reason",
          "[integration][http_client]") {
    LoopFixture fx;
    {
        HttpExchangeLimits small;
        small.max_header_bytes = 4096;
        small.max_body_bytes = 1000;

        SECTION("an endless header hits the header cap") {
            auto error = run_against(
                fx, "HTTP/1.1 200 OK\r\nX-Forever: " + std::string(64 * 1024, 'a'), false, small);
            REQUIRE(error);
            CHECK(error->kind == HttpErrorKind::HeadersTooLarge);
            CHECK(error->message == "response headers exceed 4096 bytes");
        }
        SECTION("a body bigger than the cap") {
            HttpClientResponse response;
            auto error = run_against(
                fx, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b'),
                false, small, &response);
            REQUIRE(error);
            CHECK(error->kind == HttpErrorKind::BodyTooLarge);
            CHECK(error->message == "response body exceeds 1000 bytes");
            CHECK(response.head.status == 200);  // what was learnt stays readable
        }
        SECTION("a malformed status line") {
            auto error = run_against(fx, "HTTP/1.1 abc OK\r\n\r\n", false);
            REQUIRE(error);
            CHECK(error->kind == HttpErrorKind::Protocol);
            CHECK_THAT(error->message, Catch::StartsWith("malformed HTTP response: HPE_"));
        }
        SECTION("not HTTP at all") {
            auto error = run_against(fx, "SSH-2.0-OpenSSH_9.2\r\n", false);
            REQUIRE(error);
            CHECK(error->kind == HttpErrorKind::Protocol);
        }
        SECTION("the peer closes in the middle of the body") {
            auto error = run_against(fx, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", true);
            REQUIRE(error);
            CHECK(error->kind == HttpErrorKind::PeerClosed);
            CHECK(error->message ==
                  "the server closed the connection in the middle of the response body (3 bytes "
                  "read)");
        }
        SECTION("the peer closes without answering") {
            auto error = run_against(fx, "", true);
            REQUIRE(error);
            CHECK(error->kind == HttpErrorKind::PeerClosed);
            CHECK(error->message == "the server closed the connection without sending a response");
        }
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a server that never answers leaves the exchange pending until destroyed",
          "[integration][http_client]") {
    LoopFixture fx;
    {
        ScriptedTcpServer silent(fx.loop());
        ExchangeRun run(fx.loop());
        run.start(test::local_exchange(silent.port()), test::client_get("/", "localhost"));
        // The whole request arrived (its blank line ends the head), and nothing came back.
        REQUIRE(
            fx.run_until([&] { return !silent.lines().empty() && silent.lines().back().empty(); }));
        CHECK(silent.lines().front() == "GET / HTTP/1.1");
        CHECK(run.calls == 0);
        CHECK(run.exchange->times().conn_ready_ns != 0);
        CHECK(run.exchange->times().first_byte_ns == 0);
        run.exchange.reset();
        CHECK(run.calls == 0);
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("destroying the exchange mid-connect and mid-body cancels it",
          "[integration][http_client]") {
    LoopFixture fx;
    {
        SECTION("mid-connect: the connect request is still in flight") {
            ScriptedTcpServer server(fx.loop());
            ExchangeRun run(fx.loop());
            run.start(test::local_exchange(server.port()), test::client_get("/", "localhost"));
            run.exchange.reset();
            // Let libuv run the cancelled connect's callback and the close callbacks.
            fx.loop().run_once_nowait();
            CHECK(run.calls == 0);
        }
        SECTION("mid-body: headers and part of the body have arrived") {
            ScriptedTcpServer server(
                fx.loop(), {},
                reply_with("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npart", false));
            ExchangeRun run(fx.loop());
            run.start(test::local_exchange(server.port()), test::client_get("/", "localhost"));
            REQUIRE(fx.run_until([&] { return run.exchange->response().head.status == 200; }));
            CHECK(run.calls == 0);
            run.exchange.reset();
            fx.loop().run_once_nowait();
            CHECK(run.calls == 0);
        }
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("streaming mode delivers body chunks with no overall cap", "[integration][http_client]") {
    LoopFixture fx;
    {
        const std::string big(300 * 1024, 'w');
        std::string reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (std::size_t at = 0; at < big.size(); at += 50 * 1024) {
            reply += "c800\r\n" + big.substr(at, 50 * 1024) + "\r\n";
        }
        reply += "0\r\n\r\n";
        ScriptedTcpServer server(fx.loop(), {}, reply_with(reply, false));
        ExchangeRun run(fx.loop());
        HttpExchangeOptions options = test::local_exchange(server.port());
        options.limits.max_body_bytes = 1024;  // ignored when streaming
        std::vector<std::string> events;
        std::string streamed;
        options.on_head = [&](const HttpResponseHead& head) {
            events.push_back("head " + std::to_string(head.status));
        };
        options.on_body_chunk = [&](std::string_view chunk) {
            if (events.size() == 1) {
                events.emplace_back("chunk");
            }
            streamed.append(chunk);
        };
        run.start(std::move(options), test::client_get("/", "localhost"));
        REQUIRE(fx.run_until([&] { return run.calls > 0; }));
        REQUIRE_FALSE(run.error);
        CHECK(events == std::vector<std::string>{"head 200", "chunk"});
        CHECK(streamed == big);
        CHECK(run.exchange->response().body.empty());
        CHECK(run.exchange->response().body_bytes == big.size());
        run.exchange.reset();
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("end_early from on_body_chunk completes the exchange at once",
          "[integration][http_client][http]") {
    LoopFixture fx;
    {
        // Announces far more than it sends and never ends: only end_early can complete it.
        const std::string reply =
            "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n" + std::string(4096, 'e');
        ScriptedTcpServer server(fx.loop(), {}, reply_with(reply, false));
        ExchangeRun run(fx.loop());
        HttpExchangeOptions options = test::local_exchange(server.port());
        std::size_t streamed = 0;
        int chunks_after_end = 0;
        bool ended = false;
        options.on_body_chunk = [&](std::string_view chunk) {
            if (ended) {
                ++chunks_after_end;
            }
            streamed += chunk.size();
            if (streamed >= 1024 && !ended) {
                ended = true;
                run.exchange->end_early();
                run.exchange->end_early();  // a no-op once finished
            }
        };
        run.start(std::move(options), test::client_get("/", "localhost"));
        REQUIRE(fx.run_until([&] { return run.calls > 0; }));
        CHECK(run.calls == 1);
        CHECK_FALSE(run.error);
        CHECK(run.exchange->truncated());
        CHECK(run.exchange->response().head.status == 200);
        CHECK(run.exchange->times().body_done_ns >= run.exchange->times().first_byte_ns);
        CHECK(chunks_after_end == 0);
        run.exchange.reset();
    }
    REQUIRE(fx.close() == 0);
}

struct Pki {
    test::TestCert ca = test::make_ca("sonde http client CA");
    test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    test::TestCert other_ca = test::make_ca("someone else");

    std::shared_ptr<const TlsServerContext> server() const {
        auto ctx = make_tls_server_context(leaf.cert_pem, leaf.key_pem);
        REQUIRE(ctx);
        return *ctx;
    }
    static std::shared_ptr<const TlsClientContext> client(const std::string& ca_pem) {
        config::TlsConfig config;
        config.ca = ca_pem;
        auto ctx = make_tls_client_context(config);
        REQUIRE(ctx);
        return *ctx;
    }
};

TEST_CASE("HTTPS: TLS facts and ordered phases", "[integration][http_client]") {
    LoopFixture fx;
    {
        Pki pki;
        ScriptedTcpServer server(
            fx.loop(), {}, reply_with("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure", false));
        server.use_tls(pki.server());
        ExchangeRun run(fx.loop());
        HttpExchangeOptions options = test::local_exchange(server.port());
        options.tls = Pki::client(pki.ca.cert_pem);
        options.server_name = "localhost";
        run.start(std::move(options), test::client_get("/", "localhost"));
        REQUIRE(fx.run_until([&] { return run.calls > 0; }));
        REQUIRE_FALSE(run.error);
        CHECK(run.exchange->response().body == "secure");
        const TlsSession* tls = run.exchange->tls_session();
        REQUIRE(tls != nullptr);
        CHECK(tls->peer_chain().size() == 1);
        CHECK(tls->version() == "TLS 1.3");
        const HttpExchangeTimes& t = run.exchange->times();
        CHECK(t.start_ns <= t.connect_done_ns);
        CHECK(t.connect_done_ns <= t.tls_start_ns);
        CHECK(t.tls_start_ns <= t.tls_done_ns);
        CHECK(t.tls_done_ns == t.conn_ready_ns);
        CHECK(t.conn_ready_ns <= t.first_byte_ns);
        CHECK(t.first_byte_ns <= t.body_done_ns);
        run.exchange.reset();
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("HTTPS: a certificate from an unknown CA is a Tls error", "[integration][http_client]") {
    LoopFixture fx;
    {
        Pki pki;
        ScriptedTcpServer server(fx.loop(), {}, reply_with("HTTP/1.1 200 OK\r\n\r\n", true));
        server.use_tls(pki.server());
        ExchangeRun run(fx.loop());
        HttpExchangeOptions options = test::local_exchange(server.port());
        options.tls = Pki::client(pki.other_ca.cert_pem);
        options.server_name = "localhost";
        run.start(std::move(options), test::client_get("/", "localhost"));
        REQUIRE(fx.run_until([&] { return run.calls > 0; }));
        REQUIRE(run.error);
        CHECK(run.error->kind == HttpErrorKind::Tls);
        CHECK_THAT(run.error->message, Catch::Contains("certificate verify failed"));
        CHECK(run.exchange->times().tls_done_ns != 0);
        CHECK(run.exchange->times().first_byte_ns == 0);
        run.exchange.reset();
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("destroying the exchange mid-handshake cancels it", "[integration][http_client]") {
    LoopFixture fx;
    {
        Pki pki;
        // A plain server that never answers: the ClientHello goes out and nothing comes back.
        ScriptedTcpServer silent(fx.loop());
        ExchangeRun run(fx.loop());
        HttpExchangeOptions options = test::local_exchange(silent.port());
        options.tls = Pki::client(pki.ca.cert_pem);
        options.server_name = "localhost";
        run.start(std::move(options), test::client_get("/", "localhost"));
        REQUIRE(fx.run_until([&] { return silent.accepted() == 1 && run.exchange->used_tls(); }));
        CHECK(run.exchange->times().tls_start_ns != 0);
        CHECK(run.calls == 0);
        run.exchange.reset();
        fx.loop().run_once_nowait();
        CHECK(run.calls == 0);
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("through an HTTP proxy: absolute-form for http, CONNECT for https",
          "[integration][http_client]") {
    LoopFixture fx;
    {
        test::ConnectProxy proxy(fx.loop());

        SECTION("http:// goes in absolute-form with Proxy-Authorization") {
            std::vector<HttpRequest> seen;
            HttpServer origin(fx.loop(), [&](const HttpRequest& request, HttpResponder responder) {
                seen.push_back(request);
                responder.respond(HttpResponse::text(200, "via proxy"));
            });
            REQUIRE(origin.listen("127.0.0.1:0"));
            const std::string authority = "127.0.0.1:" + std::to_string(origin.bound_port());
            ExchangeRun run(fx.loop());
            HttpExchangeOptions options = test::local_exchange(proxy.port());
            options.proxy = HttpProxyOptions{authority, "user", "pass", {}};
            HttpClientRequest request = test::client_get("/", authority);
            request.target = "/x?y=1";
            run.start(std::move(options), std::move(request));
            REQUIRE(fx.run_until([&] { return run.calls > 0; }));
            REQUIRE_FALSE(run.error);
            CHECK(run.exchange->response().body == "via proxy");
            REQUIRE(proxy.heads().size() == 1);
            CHECK_THAT(proxy.heads()[0],
                       Catch::StartsWith("GET http://" + authority + "/x?y=1 HTTP/1.1\r\n"));
            // base64("user:pass")
            CHECK_THAT(proxy.heads()[0],
                       Catch::Contains("Proxy-Authorization: Basic dXNlcjpwYXNz"));
            REQUIRE(seen.size() == 1);
            CHECK(seen[0].path == "/x");
            run.exchange.reset();
        }
        SECTION("https:// tunnels with CONNECT, connect headers and basic auth") {
            Pki pki;
            ScriptedTcpServer origin(
                fx.loop(), {}, reply_with("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false));
            origin.use_tls(pki.server());
            ExchangeRun run(fx.loop());
            HttpExchangeOptions options = test::local_exchange(proxy.port());
            options.tls = Pki::client(pki.ca.cert_pem);
            options.server_name = "localhost";
            HttpProxyOptions via{"localhost:" + std::to_string(origin.port()), "u", "p", {}};
            via.connect_headers.add("X-Tenant", "a");
            via.connect_headers.add("X-Tenant", "b");
            options.proxy = via;
            run.start(std::move(options), test::client_get("/", "localhost"));
            REQUIRE(fx.run_until([&] { return run.calls > 0; }));
            REQUIRE_FALSE(run.error);
            CHECK(run.exchange->response().body == "ok");
            CHECK(proxy.tunnels() == 1);
            REQUIRE(proxy.heads().size() == 1);
            CHECK_THAT(proxy.heads()[0],
                       Catch::StartsWith("CONNECT " + via.authority + " HTTP/1.1"));
            CHECK_THAT(proxy.heads()[0], Catch::Contains("Proxy-Authorization: Basic dTpw"));
            CHECK_THAT(proxy.heads()[0], Catch::Contains("X-Tenant: a\r\nX-Tenant: b\r\n"));
            const HttpExchangeTimes& t = run.exchange->times();
            CHECK(t.connect_done_ns <= t.tunnel_done_ns);
            CHECK(t.tunnel_done_ns <= t.tls_start_ns);
            CHECK(t.tls_done_ns <= t.first_byte_ns);
            run.exchange.reset();
        }
        SECTION("a CONNECT answered 407 fails with the proxy's status") {
            proxy.refuse_with("407 Proxy Authentication Required");
            Pki pki;
            ExchangeRun run(fx.loop());
            HttpExchangeOptions options = test::local_exchange(proxy.port());
            options.tls = Pki::client(pki.ca.cert_pem);
            options.server_name = "localhost";
            options.proxy = HttpProxyOptions{"localhost:1", std::nullopt, {}, {}};
            run.start(std::move(options), test::client_get("/", "localhost"));
            REQUIRE(fx.run_until([&] { return run.calls > 0; }));
            REQUIRE(run.error);
            CHECK(run.error->kind == HttpErrorKind::Proxy);
            CHECK(run.error->message ==
                  "proxy CONNECT to localhost:1: the proxy answered 407 Proxy Authentication "
                  "Required");
            CHECK(run.exchange->tls_session() == nullptr);
            CHECK_THAT(proxy.heads()[0], !Catch::Contains("Proxy-Authorization"));
            run.exchange.reset();
        }
    }
    REQUIRE(fx.close() == 0);
}

}  // namespace
}  // namespace sonde::net

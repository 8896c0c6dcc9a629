// The websocket prober against websocket servers the tests start on loopback (plain and TLS),
// proper and improper ones.
//
// No side-by-side test with the reference exporter here: the Debian blackbox_exporter (0.23)
// has no websocket prober (it is unreleased upstream, #1278), so the expectations follow the
// reference document (§1.9, §2.8) and upstream's TestProbeWebsocket.
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "modules/websocket/websocket_frame.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/silent_listener.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/support/websocket_server.hpp"

namespace sonde {
namespace {

using modules::websocket::Opcode;
using test::metric_value;
using test::WebsocketServer;

const std::string kWebsocketModules = R"yaml(modules:
  ws:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      headers:
        X-Probe-Header:
          values: [from-sonde]
      http_config:
        basic_auth:
          username: user
          password: secret
  ws_dialog:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      query_response:
      - expect: "incoming_(.+)"
        send: "outgoing_${1}"
      - expect: "^passed"
  ws_dialog_mismatch:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      query_response:
      - expect: "incoming_(.+)"
        send: "outgoing_${1}"
      - expect: "^someotherstring"
  ws_hello:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      query_response:
      - expect: "^hello world$"
  ws_echo:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      query_response:
      - send: "ping 42"
      - expect: "^ping (\\d+)$"
)yaml";

std::string tls_modules(const std::string& ca_file) {
    return kWebsocketModules + R"(  wss:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
      http_config:
        tls_config:
          ca_file: )" +
           ca_file + R"(
      query_response:
      - send: "over tls"
      - expect: "^over tls$"
  wss_system_roots:
    prober: websocket
    websocket:
      preferred_ip_protocol: ip4
)";
}

// Runs the loop until done() holds, for conditions that change on the server's thread: nothing
// on the loop wakes it then, so it is polled. False after 3 s.
bool run_until_server(test::ProbeHarness& h, const std::function<bool()>& done) {
    for (int i = 0; i < 3000; ++i) {
        h.loop().run_once_nowait();
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

// The script of a server that upgrades and then says `first`, reads one message and answers
// "passed" when it is "outgoing_test".
WebsocketServer::Script upstream_dialog() {
    return [](WebsocketServer::Conn& conn) {
        if (!conn.upgrade()) {
            return;
        }
        conn.send_text("incoming_test");
        auto message = conn.read_message();
        if (message && *message == "outgoing_test") {
            conn.send_text("passed");
        }
        conn.drain();
    };
}

TEST_CASE("a websocket upgrade succeeds with 101 and the exporter's metrics",
          "[integration][websocket]") {
    test::ProbeHarness h;
    h.load(kWebsocketModules);
    WebsocketServer server;
    const auto report = h.run("ws", server.url("/socket?x=1"));
    CHECK(report.success);
    const auto& r = *report.registry;
    CHECK(metric_value(r, "probe_websocket_status_code") == 101);
    CHECK(metric_value(r, "probe_websocket_connection_upgraded") == 1);
    CHECK(metric_value(r, "probe_websocket_failed_due_to_regex") == 0);
    CHECK(metric_value(r, "probe_ip_protocol") == 4);
    CHECK(metric_value(r, "probe_ip_addr_hash").has_value());
    for (const char* phase : {"resolve", "connect", "processing"}) {
        const auto value = metric_value(r, "probe_websocket_duration_seconds", {{"phase", phase}});
        REQUIRE(value.has_value());
        CHECK(*value >= 0);
    }
    // transfer only with query_response.
    CHECK_FALSE(
        metric_value(r, "probe_websocket_duration_seconds", {{"phase", "transfer"}}).has_value());
    CHECK(test::metric_help(r, "probe_websocket_connection_upgraded") ==
          "Indicates if the websocket connection was successfully upgraded");

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    const std::string& request = requests[0];
    CHECK(request.rfind("GET /socket?x=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(request.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") !=
          std::string::npos);
    CHECK(request.find("\r\nUpgrade: websocket\r\n") != std::string::npos);
    CHECK(request.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
    CHECK(request.find("\r\nX-Probe-Header: from-sonde\r\n") != std::string::npos);
    CHECK(request.find("\r\nAuthorization: Basic dXNlcjpzZWNyZXQ=\r\n") != std::string::npos);
    // The password is not in the probe's log.
    INFO(report.log.text());
    CHECK(report.log.text().find("c2VjcmV0") == std::string::npos);
    REQUIRE(h.close() == 0);
}

TEST_CASE("query_response runs over websocket messages", "[integration][websocket]") {
    test::ProbeHarness h;
    h.load(kWebsocketModules);

    SECTION("expect, send with ${1}, expect: upstream's own conversation") {
        WebsocketServer server(upstream_dialog());
        const auto report = h.run("ws_dialog", server.url());
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_websocket_failed_due_to_regex") == 0);
        CHECK(metric_value(*report.registry, "probe_websocket_duration_seconds",
                           {{"phase", "transfer"}})
                  .has_value());
        CHECK(server.messages() == std::vector<std::string>{"outgoing_test"});
    }
    SECTION("a message that does not match fails with failed_due_to_regex 1") {
        WebsocketServer server(upstream_dialog());
        const auto report = h.run("ws_dialog_mismatch", server.url());
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Validation);
        CHECK(metric_value(*report.registry, "probe_websocket_failed_due_to_regex") == 1);
        CHECK(metric_value(*report.registry, "probe_websocket_connection_upgraded") == 1);
        CHECK(report.log.text().find("Regexp did not match") != std::string::npos);
    }
    SECTION("send first, then expect the echo (no newline is added)") {
        WebsocketServer server;
        const auto report = h.run("ws_echo", server.url());
        CHECK(report.success);
        CHECK(server.messages() == std::vector<std::string>{"ping 42"});
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("a fragmented message is matched whole, with control frames between its fragments",
          "[integration][websocket]") {
    test::ProbeHarness h;
    h.load(kWebsocketModules);
    std::atomic<bool> pong_ok{false};
    WebsocketServer server([&pong_ok](WebsocketServer::Conn& conn) {
        if (!conn.upgrade()) {
            return;
        }
        conn.send_frame(Opcode::Text, "hel", false);
        // The probe answers the ping with a pong carrying the same payload.
        pong_ok = conn.ping_answered("are-you-there");
        conn.send_frame(Opcode::Continuation, "lo wor", false);
        conn.send_frame(Opcode::Continuation, "ld", true);
        conn.drain();
    });
    const auto report = h.run("ws_hello", server.url());
    CHECK(report.success);
    CHECK(pong_ok.load());
    REQUIRE(h.close() == 0);
}

TEST_CASE("a ping while the probe waits for a message is answered", "[integration][websocket]") {
    test::ProbeHarness h;
    h.load(kWebsocketModules);
    std::atomic<bool> pong_ok{false};
    WebsocketServer server([&pong_ok](WebsocketServer::Conn& conn) {
        if (!conn.upgrade()) {
            return;
        }
        pong_ok = conn.ping_answered("");
        // Only once the pong came does the server say what the probe waits for.
        if (pong_ok) {
            conn.send_text("hello world");
        }
        conn.drain();
    });
    const auto report = h.run("ws_hello", server.url());
    CHECK(report.success);
    CHECK(pong_ok.load());
    REQUIRE(h.close() == 0);
}

TEST_CASE("a refused or wrong upgrade fails the probe", "[integration][websocket]") {
    test::ProbeHarness h;
    h.load(kWebsocketModules);

    SECTION("200 instead of 101") {
        WebsocketServer server([](WebsocketServer::Conn& conn) {
            if (!conn.read_request().empty()) {
                conn.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            conn.drain();
        });
        const auto report = h.run("ws", server.url());
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Protocol);
        CHECK(metric_value(*report.registry, "probe_websocket_status_code") == 200);
        CHECK(metric_value(*report.registry, "probe_websocket_connection_upgraded") == 0);
        CHECK(report.detail.find("websocket: bad handshake") != std::string::npos);
        CHECK(report.log.text().find("Error dialing websocket") != std::string::npos);
    }
    SECTION("101 with a wrong Sec-WebSocket-Accept") {
        WebsocketServer server([](WebsocketServer::Conn& conn) {
            if (!conn.read_request().empty()) {
                conn.write_raw(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
            }
            conn.drain();
        });
        const auto report = h.run("ws", server.url());
        CHECK_FALSE(report.success);
        CHECK(metric_value(*report.registry, "probe_websocket_status_code") == 101);
        CHECK(metric_value(*report.registry, "probe_websocket_connection_upgraded") == 0);
        CHECK(report.detail.find("Sec-WebSocket-Accept") != std::string::npos);
    }
    SECTION("a target that is not a ws:// or wss:// URL") {
        const auto report = h.run("ws", "http://127.0.0.1:1/");
        CHECK_FALSE(report.success);
        CHECK(report.detail == "malformed ws or wss URL");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("a server that closes or breaks the stream during expect fails the probe",
          "[integration][websocket]") {
    test::ProbeHarness h;
    h.load(kWebsocketModules);

    // The server upgrades, sends `bytes` and then only reads.
    const auto run_against = [&h](std::string bytes) {
        WebsocketServer server([&bytes](WebsocketServer::Conn& conn) {
            if (conn.upgrade()) {
                conn.write_raw(bytes);
            }
            conn.drain();
        });
        return h.run("ws_hello", server.url());
    };
    SECTION("a close frame") {
        const auto report = run_against(modules::websocket::encode_frame(
            Opcode::Close, modules::websocket::close_payload(1001, "bye"), std::nullopt));
        CHECK_FALSE(report.success);
        CHECK(report.detail == "websocket: close 1001 (going away): bye");
        CHECK(metric_value(*report.registry, "probe_websocket_failed_due_to_regex") == 1);
    }
    SECTION("a frame announcing 2^63 bytes fails at once, allocating nothing") {
        const auto report =
            run_against(std::string("\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10));
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Protocol);
        CHECK(report.detail.find("read limit exceeded") != std::string::npos);
    }
    SECTION("a frame just over the limit, announced with a 64-bit length") {
        const auto report =
            run_against(std::string("\x82\x7f\x00\x00\x00\x00\x01\x00\x00\x01", 10));
        CHECK_FALSE(report.success);
        CHECK(report.detail.find("read limit exceeded") != std::string::npos);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("a websocket server that never answers fails the probe by its deadline",
          "[integration][websocket]") {
    test::ProbeHarness h;
    h.load(kWebsocketModules);
    WebsocketServer server([](WebsocketServer::Conn& conn) { conn.drain(); });
    const auto report = h.run("ws", server.url(), 0.3);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Timeout);
    CHECK(metric_value(*report.registry, "probe_websocket_status_code") == 0);
    CHECK(metric_value(*report.registry, "probe_websocket_connection_upgraded") == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("wss:// speaks TLS with the module's tls_config", "[integration][websocket]") {
    const test::TestCert ca = test::make_ca("sonde websocket CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    auto context = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
    REQUIRE(context.has_value());
    test::ProbeHarness h;
    h.load(tls_modules(ca_file.path()));
    WebsocketServer server(WebsocketServer::echo(), *context);

    auto report = h.run("wss", server.url("/tls"));
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_websocket_status_code") == 101);
    // The exporter exports no certificate metrics for websocket.
    CHECK_FALSE(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry").has_value());
    CHECK(server.messages() == std::vector<std::string>{"over tls"});

    // A certificate from a CA the module does not trust fails the dial.
    report = h.run("wss_system_roots", server.url());
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Tls);
    CHECK(metric_value(*report.registry, "probe_websocket_connection_upgraded") == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("a websocket probe destroyed mid-flight is cancelled cleanly",
          "[integration][websocket]") {
    test::ProbeHarness h;
    const test::TestCert ca = test::make_ca("sonde websocket CA");
    const test::TempFile ca_file(ca.cert_pem);
    h.load(tls_modules(ca_file.path()));
    std::optional<app::ProbeReport> report;

    SECTION("waiting for the upgrade answer") {
        WebsocketServer server([](WebsocketServer::Conn& conn) {
            (void)conn.read_request();
            conn.drain();
        });
        auto run = h.start("ws", server.url(), 5, &report);
        REQUIRE(run_until_server(h, [&] { return server.requests().size() == 1; }));
        run.reset();
        for (int i = 0; i < 10; ++i) {
            h.loop().run_once_nowait();
        }
    }
    SECTION("holding the first fragment of a message") {
        std::atomic<bool> sent{false};
        WebsocketServer server([&sent](WebsocketServer::Conn& conn) {
            (void)conn.read_request();
            conn.accept_upgrade();
            conn.send_frame(Opcode::Text, "partial", false);
            sent = true;
            conn.drain();
        });
        auto run = h.start("ws_hello", server.url(), 5, &report);
        REQUIRE(run_until_server(h, [&] { return sent.load(); }));
        for (int i = 0; i < 5; ++i) {
            h.loop().run_once_nowait();
        }
        run.reset();
        for (int i = 0; i < 10; ++i) {
            h.loop().run_once_nowait();
        }
    }
    SECTION("mid TLS handshake") {
        test::SilentListener silent;
        auto run = h.start("wss", "wss://localhost:" + std::to_string(silent.port()), 5, &report);
        for (int i = 0; i < 10; ++i) {
            h.loop().run_once_nowait();
        }
        run.reset();
        for (int i = 0; i < 10; ++i) {
            h.loop().run_once_nowait();
        }
    }
    CHECK_FALSE(report.has_value());
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

// The tcp prober against real servers on loopback, started by each test on port 0.
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/scripted_tcp_server.hpp"

namespace sonde {
namespace {

using test::metric_value;

constexpr const char* kTcpModules = R"yaml(modules:
  tcp_connect:
    prober: tcp
  tcp_v6:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
  ssh_banner_extract:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH-2.0-([^ -]+)(?: (.*))?$"
        labels:
        - name: ssh_version
          value: "${1}"
        - name: ssh_comments
          value: "${2}"
  irc_banner:
    prober: tcp
    tcp:
      query_response:
      - send: "NICK prober"
      - send: "USER prober prober prober :prober"
      - expect: "PING :([^ ]+)"
        send: "PONG ${1}"
      - expect: "^:[^ ]+ 001"
  expect_ok:
    prober: tcp
    tcp:
      query_response:
      - expect: "^OK"
  expect_bytes_s:
    prober: tcp
    tcp:
      query_response:
      - expect_bytes: "S"
  from_127_0_0_2:
    prober: tcp
    tcp:
      source_ip_address: 127.0.0.2
      query_response:
      - expect: "^you are (.*)$"
)yaml";

TEST_CASE("tcp connect succeeds against a listening server", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(h.loop());
    const auto report = h.run("tcp_connect", server.address());
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_success") == 1);
    CHECK(metric_value(*report.registry, "probe_ip_protocol") == 4);
    CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 0);
    CHECK(metric_value(*report.registry, "probe_timeout_seconds") == 5);
    CHECK(server.accepted() == 1);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tcp connect to a closed port fails as a connect failure", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    std::string address;
    {
        test::ScriptedTcpServer server(h.loop());
        address = server.address();
    }
    const auto report = h.run("tcp_connect", address);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Connect);
    CHECK(report.detail.find("ECONNREFUSED") != std::string::npos);
    CHECK(metric_value(*report.registry, "probe_success") == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("tcp probes an IPv6 loopback server", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(h.loop(), {}, {}, "::1");
    const auto report = h.run("tcp_v6", server.address());
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_ip_protocol") == 6);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("a banner regex extracts labels into probe_expect_info", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(h.loop(), "SSH-2.0-OpenSSH_6.9p1 Debian-2\r\n");
    const auto report = h.run("ssh_banner_extract", server.address());
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_expect_info",
                       {{"ssh_version", "OpenSSH_6.9p1"}, {"ssh_comments", "Debian-2"}}) == 1);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("an IRC conversation substitutes the PING token into PONG", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(
        h.loop(), {}, [](test::ScriptedTcpServer::Connection& c, std::string_view line) {
            if (line.rfind("USER ", 0) == 0) {
                c.write("NOTICE AUTH :hello\r\nPING :token123\r\n");
            } else if (line == "PONG token123") {
                c.write(":irc.example 001 prober :Welcome\r\n");
            }
        });
    const auto report = h.run("irc_banner", server.address());
    CHECK(report.success);
    CHECK(server.lines() == std::vector<std::string>{"NICK prober",
                                                     "USER prober prober prober :prober",
                                                     "PONG token123"});
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("expect failing at EOF sets probe_failed_due_to_regex", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(h.loop(), "ERR busy\r\nstill busy");
    server.close_after_greeting();
    const auto report = h.run("expect_ok", server.address());
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Validation);
    CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 1);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("expect matches a last line that has no newline", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(h.loop(), "banner\r\nOK ready");
    const auto report = h.run("expect_ok", server.address());
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 0);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("a server that talks on and closes after the match does not undo success",
          "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    // The match, then far more than one 64 KiB read of chatter, then EOF, all at once: reads
    // after the dialog succeeded must not be judged again.
    test::ScriptedTcpServer server(h.loop(), "OK ready\r\n" + std::string(300 * 1024, 'x'));
    server.close_after_greeting();
    const auto report = h.run("expect_ok", server.address());
    CHECK(report.success);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("expect_bytes compares raw bytes", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    SECTION("match") {
        test::ScriptedTcpServer server(h.loop(), "S");
        const auto report = h.run("expect_bytes_s", server.address());
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_failed_due_to_bytes") == 0);
    }
    SECTION("mismatch") {
        test::ScriptedTcpServer server(h.loop(), "N");
        const auto report = h.run("expect_bytes_s", server.address());
        CHECK_FALSE(report.success);
        CHECK(metric_value(*report.registry, "probe_failed_due_to_bytes") == 1);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("a server that accepts and never speaks fails the probe at its deadline",
          "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer silent(h.loop());
    const auto report = h.run("expect_ok", silent.address(), 0.3);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Timeout);
    // Never before the deadline. (How much later is a benchmark's business, not a test's.)
    CHECK(report.duration_seconds >= 0.3);
    CHECK(metric_value(*report.registry, "probe_timeout_seconds") == Approx(0.3));
    silent.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("source_ip_address binds the probe's local address", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(h.loop(), "you are ");
    server.greet_with_peer_address();
    const auto report = h.run("from_127_0_0_2", server.address());
    CHECK(report.success);
    // The server saw the connection come from 127.0.0.2, not the default 127.0.0.1.
    CHECK(report.log.text().find("you are 127.0.0.2:") != std::string::npos);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("a probe destroyed while connecting is cancelled cleanly", "[integration][tcp]") {
    test::ProbeHarness h;
    h.load(kTcpModules);
    test::ScriptedTcpServer server(h.loop());
    std::optional<app::ProbeReport> report;
    auto run = h.start("tcp_connect", server.address(), 5, &report);
    run.reset();  // before the resolver or the connect could answer
    // Let every pending callback run: none may reach the destroyed run.
    for (int i = 0; i < 10; ++i) {
        h.loop().run_once_nowait();
    }
    CHECK_FALSE(report.has_value());
    server.stop();
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

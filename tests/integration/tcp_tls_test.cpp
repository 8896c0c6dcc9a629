// The tcp prober's TLS: `tls: true` and a STARTTLS conversation, against loopback servers that
// present certificates made by the test (as the exporter's own tests do).
#include <ctime>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::metric_value;

struct Pki {
    test::TestCert ca = test::make_ca("sonde test CA");
    test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    test::TempFile ca_file{ca.cert_pem};
};

std::shared_ptr<const net::TlsServerContext> server_context(const test::TestCert& cert,
                                                            net::TlsServerOptions options = {}) {
    auto ctx = net::make_tls_server_context(cert.cert_pem, cert.key_pem, options);
    REQUIRE(ctx.has_value());
    return *ctx;
}

std::string modules_with_ca(const std::string& ca_file) {
    return R"(modules:
  tls_ok:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: )" +
           ca_file + R"(
  tls_system_roots:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
  tls_insecure:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        insecure_skip_verify: true
  tls_wrong_name:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: )" +
           ca_file + R"(
        server_name: other.example
  tls13_only:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: )" +
           ca_file + R"(
        min_version: TLS13
  tls12_max:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: )" +
           ca_file + R"(
        max_version: TLS12
  smtp_starttls:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      query_response:
      - expect: "^220 ([^ ]+) ESMTP (.+)$"
      - send: "EHLO prober\r"
      - expect: "^250-STARTTLS"
      - send: "STARTTLS\r"
      - expect: "^220"
      - starttls: true
      - send: "EHLO prober\r"
      - expect: "^250-AUTH"
      - send: "QUIT\r"
      tls_config:
        ca_file: )" +
           ca_file + "\n";
}

TEST_CASE("tls: true verifies the server against the configured CA", "[integration][tcp][tls]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(modules_with_ca(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());
    server.use_tls(server_context(pki.leaf));
    // The target names localhost, so the certificate's DNS name is what is verified.
    const auto report = h.run("tls_ok", "localhost:" + std::to_string(server.port()));
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(pki.leaf.not_after));
    CHECK(metric_value(*report.registry, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1);
    CHECK(metric_value(*report.registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
          static_cast<double>(pki.leaf.not_after));
    // The server completes its side when the client's Finished arrives.
    REQUIRE(h.fixture().run_until([&] { return server.tls_handshakes() == 1; }));
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls certificate failures fail the probe with the reason", "[integration][tcp][tls]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(modules_with_ca(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());

    SECTION("a name the certificate does not have") {
        server.use_tls(server_context(pki.leaf));
        const auto report = h.run("tls_wrong_name", server.address());
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Tls);
        CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") == std::nullopt);
    }
    SECTION("an expired certificate") {
        auto spec = test::localhost_spec();
        spec.not_before_offset = -7200;
        spec.not_after_offset = -3600;
        server.use_tls(server_context(test::make_signed(spec, pki.ca)));
        const auto report = h.run("tls_ok", "localhost:" + std::to_string(server.port()));
        CHECK_FALSE(report.success);
        CHECK(report.detail.find("expired") != std::string::npos);
    }
    SECTION("a self-signed certificate, then the same with insecure_skip_verify") {
        server.use_tls(server_context(test::make_self_signed(test::localhost_spec())));
        auto report = h.run("tls_ok", "localhost:" + std::to_string(server.port()));
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Tls);
        report = h.run("tls_insecure", "localhost:" + std::to_string(server.port()));
        CHECK(report.success);
        // Nothing was verified: the exporter reports Go's zero time here (#653).
        CHECK(metric_value(*report.registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
              -62135596800.0);
    }
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls min_version and max_version are enforced", "[integration][tcp][tls]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(modules_with_ca(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());
    net::TlsServerOptions tls12_only;
    tls12_only.max_version = config::TlsVersion::Tls12;
    server.use_tls(server_context(pki.leaf, tls12_only));
    const std::string target = "localhost:" + std::to_string(server.port());

    auto report = h.run("tls13_only", target);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Tls);

    report = h.run("tls12_max", target);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_tls_version_info", {{"version", "TLS 1.2"}}) == 1);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("an SMTP-like STARTTLS conversation upgrades and goes on over TLS",
          "[integration][tcp][tls]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(modules_with_ca(pki.ca_file.path()));
    test::ScriptedTcpServer server(
        h.loop(), "220 mail.test ESMTP Postfix\r\n",
        [](test::ScriptedTcpServer::Connection& c, std::string_view line) {
            if (line == "EHLO prober" && !c.tls) {
                c.write("250-mail.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
            } else if (line == "STARTTLS") {
                c.write("220 2.0.0 Ready to start TLS\r\n");
                c.upgrade_to_tls();
            } else if (line == "EHLO prober") {
                c.write("250-mail.test\r\n250-AUTH PLAIN\r\n250 OK\r\n");
            } else if (line == "QUIT") {
                c.write("221 Bye\r\n");
            }
        });
    server.set_tls_context(server_context(pki.leaf));
    const auto report = h.run("smtp_starttls", "localhost:" + std::to_string(server.port()));
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(pki.leaf.not_after));
    // Every line after STARTTLS travelled inside TLS and reached the server.
    REQUIRE(h.fixture().run_until([&] { return server.lines().size() == 4; }));
    CHECK(server.tls_handshakes() == 1);
    CHECK(server.lines()[2] == "EHLO prober");
    CHECK(server.lines()[3] == "QUIT");
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("a probe destroyed mid-handshake is cancelled cleanly", "[integration][tcp][tls]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(modules_with_ca(pki.ca_file.path()));
    // A plain server that never answers the ClientHello: the probe stays mid-handshake.
    test::ScriptedTcpServer silent(h.loop());
    std::optional<app::ProbeReport> report;
    auto run = h.start("tls_ok", "localhost:" + std::to_string(silent.port()), 5, &report);
    REQUIRE(
        h.fixture().run_until([&] { return !silent.lines().empty() || silent.accepted() > 0; }));
    // Let the ClientHello go out, then cancel.
    for (int i = 0; i < 5; ++i) {
        h.loop().run_once_nowait();
    }
    run.reset();
    for (int i = 0; i < 10; ++i) {
        h.loop().run_once_nowait();
    }
    CHECK_FALSE(report.has_value());
    silent.stop();
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

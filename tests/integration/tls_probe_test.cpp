// The tls prober (sonde extension): handshake-only certificate checks against loopback servers
// that present certificates (and OCSP responses) made by the test, directly or after a scripted
// STARTTLS dialog.
#include <ctime>
#include <optional>
#include <string>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "tests/support/hostile_tcp_server.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/support/test_ocsp.hpp"

namespace sonde {
namespace {

using test::metric_value;

struct TlsProbePki {
    test::TestCert ca = test::make_ca("sonde tls prober CA");
    test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    test::TempFile ca_file{ca.cert_pem};
};

std::shared_ptr<const net::TlsServerContext> tls_probe_server_context(
    const test::TestCert& cert, net::TlsServerOptions options = {}) {
    auto ctx = net::make_tls_server_context(cert.cert_pem, cert.key_pem, options);
    REQUIRE(ctx.has_value());
    return *ctx;
}

// One module per case; `extra` lines go into the tls: block, `tls_extra` into tls_config.
std::string tls_module(const std::string& name, const std::string& ca_file,
                       const std::string& extra = {}, const std::string& tls_extra = {}) {
    std::string text =
        "  " + name + ":\n    prober: tls\n    tls:\n      preferred_ip_protocol: ip4\n";
    text += extra;
    text += "      tls_config:\n";
    if (!ca_file.empty()) {
        text += "        ca_file: " + ca_file + "\n";
    }
    text += tls_extra;
    return text;
}

std::string tls_probe_modules(const std::string& ca_file) {
    return "modules:\n" + tls_module("tls_ok", ca_file) + tls_module("tls_system_roots", "") +
           tls_module("tls_insecure", "", "", "        insecure_skip_verify: true\n") +
           tls_module("tls_wrong_name", ca_file, "", "        server_name: other.example\n") +
           tls_module("tls13_only", ca_file, "", "        min_version: TLS13\n") +
           tls_module("expires_2h", ca_file, "      fail_if_expires_within: 2h\n") +
           tls_module("expires_30m", ca_file, "      fail_if_expires_within: 30m\n") +
           tls_module("smtp", ca_file, "      starttls: smtp\n") +
           tls_module("imap", ca_file, "      starttls: imap\n") +
           tls_module("pop3", ca_file, "      starttls: pop3\n") +
           tls_module("ftp", ca_file, "      starttls: ftp\n") +
           tls_module("postgres", ca_file, "      starttls: postgres\n");
}

std::string localhost_target(const test::ScriptedTcpServer& server) {
    return "localhost:" + std::to_string(server.port());
}

TEST_CASE("tls prober: a certificate verified with ca_file, with its metrics",
          "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());
    server.use_tls(tls_probe_server_context(pki.leaf));
    const auto report = h.run("tls_ok", localhost_target(server));
    INFO(report.detail);
    REQUIRE(report.success);
    const auto& r = *report.registry;
    CHECK(metric_value(r, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(pki.leaf.not_after));
    // The verified chain ends at the CA, which outlives the leaf.
    CHECK(metric_value(r, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
          static_cast<double>(pki.leaf.not_after));
    CHECK(metric_value(r, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1);
    // OpenSSL's first TLS 1.3 suite by default.
    CHECK(metric_value(r, "probe_tls_cipher_info", {{"cipher", "TLS_AES_256_GCM_SHA384"}}) == 1);
    CHECK(metric_value(r, "probe_ssl_last_chain_info",
                       {{"fingerprint_sha256", ""},
                        {"subject", ""},
                        {"issuer", ""},
                        {"subjectalternative", ""},
                        {"serialnumber", ""}}) == std::nullopt);
    CHECK(metric_value(r, "probe_tls_ocsp_stapled") == 0);
    CHECK(metric_value(r, "probe_tls_ocsp_status") == std::nullopt);
    CHECK(metric_value(r, "probe_tls_cert_expires_within_failed") == std::nullopt);
    for (const char* phase : {"resolve", "connect", "handshake"}) {
        CHECK(metric_value(r, "probe_tls_duration_seconds", {{"phase", phase}}).has_value());
    }
    CHECK(metric_value(r, "probe_tls_duration_seconds", {{"phase", "starttls"}}) == std::nullopt);
    CHECK(metric_value(r, "probe_tls_duration_seconds", {{"phase", "handshake"}}) > 0);
    // The server completed its side: the probe's Finished (and its close_notify) arrived.
    REQUIRE(h.fixture().run_until([&] { return server.tls_handshakes() == 1; }));
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: TLS 1.2 ciphers are reported by their IANA name",
          "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());
    net::TlsServerOptions tls12;
    tls12.max_version = config::TlsVersion::Tls12;
    tls12.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
    server.use_tls(tls_probe_server_context(pki.leaf, tls12));
    const auto report = h.run("tls_ok", localhost_target(server));
    INFO(report.detail);
    REQUIRE(report.success);
    CHECK(metric_value(*report.registry, "probe_tls_version_info", {{"version", "TLS 1.2"}}) == 1);
    CHECK(metric_value(*report.registry, "probe_tls_cipher_info",
                       {{"cipher", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}}) == 1);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: verification failures fail with the reason", "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());
    server.use_tls(tls_probe_server_context(pki.leaf));

    SECTION("a CA the system does not trust") {
        const auto report = h.run("tls_system_roots", localhost_target(server));
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Tls);
        CHECK(report.detail.find("certificate verify failed: unable to get local issuer") == 0);
        CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") == std::nullopt);
    }
    SECTION("a name the certificate does not have") {
        const auto report = h.run("tls_wrong_name", localhost_target(server));
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Tls);
        CHECK(report.detail ==
              "certificate verify failed: hostname mismatch: certificate is valid for localhost, "
              "127.0.0.1, ::1, not other.example");
    }
    SECTION("insecure_skip_verify accepts it, and reports nothing verified") {
        const auto report = h.run("tls_insecure", localhost_target(server));
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
              -62135596800.0);
    }
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: min_version TLS13 fails against a TLS 1.2 server",
          "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());
    net::TlsServerOptions tls12_only;
    tls12_only.max_version = config::TlsVersion::Tls12;
    server.use_tls(tls_probe_server_context(pki.leaf, tls12_only));
    const auto report = h.run("tls13_only", localhost_target(server));
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Tls);
    CHECK(report.detail.find("protocol version") != std::string::npos);
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: fail_if_expires_within trips on a short-lived chain",
          "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());

    SECTION("a leaf valid for one more hour") {
        auto spec = test::localhost_spec();
        spec.not_after_offset = 3600;
        const auto leaf = test::make_signed(spec, pki.ca);
        server.use_tls(tls_probe_server_context(leaf));
        auto report = h.run("expires_2h", localhost_target(server));
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Validation);
        CHECK(report.detail.find("certificate \"CN=localhost,O=Acme Co,C=US\" (depth 0) expires "
                                 "at ") == 0);
        CHECK(report.detail.find("within fail_if_expires_within 2h0m0s") != std::string::npos);
        CHECK(metric_value(*report.registry, "probe_tls_cert_expires_within_failed") == 1);
        // The certificate metrics are there all the same: the handshake completed.
        CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
              static_cast<double>(leaf.not_after));

        report = h.run("expires_30m", localhost_target(server));
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_tls_cert_expires_within_failed") == 0);
    }
    SECTION("a CA of the verified chain that expires first") {
        const auto short_ca = test::make_ca("short-lived CA", 3600);
        test::TempFile short_ca_file{short_ca.cert_pem};
        h.load("modules:\n" + tls_module("expires_2h", short_ca_file.path(),
                                         "      fail_if_expires_within: 2h\n"));
        server.use_tls(
            tls_probe_server_context(test::make_signed(test::localhost_spec(), short_ca)));
        const auto report = h.run("expires_2h", localhost_target(server));
        CHECK_FALSE(report.success);
        INFO(report.detail);
        CHECK(report.detail.find(
                  "certificate \"CN=short-lived CA,O=Sonde Test\" (depth 1) expires at ") == 0);
    }
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: a stapled OCSP response is reported", "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop());
    net::TlsServerOptions options;

    SECTION("good") {
        options.ocsp_staple =
            test::make_ocsp_response(pki.leaf, pki.ca, pki.ca, test::TestOcspStatus::Good);
        server.use_tls(tls_probe_server_context(pki.leaf, options));
        const auto report = h.run("tls_ok", localhost_target(server));
        INFO(report.detail);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_tls_ocsp_stapled") == 1);
        CHECK(metric_value(*report.registry, "probe_tls_ocsp_status") == 0);
    }
    SECTION("revoked fails the probe") {
        options.ocsp_staple =
            test::make_ocsp_response(pki.leaf, pki.ca, pki.ca, test::TestOcspStatus::Revoked);
        server.use_tls(tls_probe_server_context(pki.leaf, options));
        const auto report = h.run("tls_ok", localhost_target(server));
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Validation);
        CHECK(report.detail == "ocsp: certificate revoked (keyCompromise)");
        CHECK(metric_value(*report.registry, "probe_tls_ocsp_status") == 1);
    }
    SECTION("unknown") {
        options.ocsp_staple =
            test::make_ocsp_response(pki.leaf, pki.ca, pki.ca, test::TestOcspStatus::Unknown);
        server.use_tls(tls_probe_server_context(pki.leaf, options));
        const auto report = h.run("tls_ok", localhost_target(server));
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_tls_ocsp_status") == 2);
    }
    SECTION("signed by a stranger: unusable, not trusted") {
        const auto stranger = test::make_ca("not the issuer");
        options.ocsp_staple =
            test::make_ocsp_response(pki.leaf, pki.ca, stranger, test::TestOcspStatus::Good);
        server.use_tls(tls_probe_server_context(pki.leaf, options));
        const auto report = h.run("tls_ok", localhost_target(server));
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_tls_ocsp_stapled") == 1);
        CHECK(metric_value(*report.registry, "probe_tls_ocsp_status") == -1);
    }
    server.stop();
    REQUIRE(h.close() == 0);
}

// A plaintext server for each STARTTLS protocol that upgrades when asked.
void script_starttls(test::ScriptedTcpServer::Connection& c, std::string_view line) {
    if (c.tls) {
        return;
    }
    if (line == "EHLO sonde") {
        c.write("250-mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
    } else if (line == "STARTTLS") {
        c.write("220 2.0.0 Ready to start TLS\r\n");
        c.upgrade_to_tls();
    } else if (line == "a001 STARTTLS") {
        c.write("* NOTE untagged\r\na001 OK Begin TLS negotiation now\r\n");
        c.upgrade_to_tls();
    } else if (line == "STLS") {
        c.write("+OK Begin TLS negotiation\r\n");
        c.upgrade_to_tls();
    } else if (line == "AUTH TLS") {
        c.write("234 AUTH TLS successful\r\n");
        c.upgrade_to_tls();
    } else {
        c.write("500 what?\r\n");
    }
}

TEST_CASE("tls prober: STARTTLS for each protocol, then the handshake",
          "[integration][tls-prober]") {
    const auto [module, greeting] = GENERATE(table<std::string, std::string>({
        {"smtp", "220-mail.test ESMTP\r\n220 welcome\r\n"},
        {"imap", "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"},
        {"pop3", "+OK POP3 ready\r\n"},
        {"ftp", "220-FTP server\r\n free text in a multi-line reply\r\n220 ready\r\n"},
    }));
    INFO(module);
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    test::ScriptedTcpServer server(h.loop(), greeting, script_starttls);
    server.set_tls_context(tls_probe_server_context(pki.leaf));
    const auto report = h.run(module, localhost_target(server));
    INFO(report.detail);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(pki.leaf.not_after));
    CHECK(metric_value(*report.registry, "probe_tls_duration_seconds", {{"phase", "starttls"}}) >
          0);
    REQUIRE(h.fixture().run_until([&] { return server.tls_handshakes() == 1; }));
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: postgres SSLRequest, accepted and refused", "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    const std::string ssl_request("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
    const char answer = GENERATE('S', 'N');
    std::string received;
    test::ScriptedTcpServer server(h.loop());
    server.on_bytes([&](test::ScriptedTcpServer::Connection& c, std::string_view bytes) {
        if (c.tls) {
            return;
        }
        received += bytes;
        if (received == ssl_request) {
            c.write(std::string(1, answer));
            if (answer == 'S') {
                c.upgrade_to_tls();
            }
        }
    });
    server.set_tls_context(tls_probe_server_context(pki.leaf));
    const auto report = h.run("postgres", localhost_target(server));
    CHECK(received == ssl_request);
    if (answer == 'S') {
        INFO(report.detail);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_tls_version_info", {{"version", "TLS 1.3"}}) ==
              1);
    } else {
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Protocol);
        CHECK(report.detail ==
              "starttls postgres: the server refuses TLS (it answered 'N' to the SSLRequest)");
    }
    server.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: hostile STARTTLS servers fail the probe with a reason",
          "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));

    SECTION("a server that never answers ends at the deadline") {
        test::ScriptedTcpServer silent(h.loop());
        const auto report = h.run("smtp", localhost_target(silent), 0.5);
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Timeout);
        CHECK(silent.accepted() == 1);
    }
    SECTION("an endless line without a newline") {
        test::ScriptedTcpServer endless(h.loop(), std::string(1 << 20, 'x'));
        const auto report = h.run("smtp", localhost_target(endless));
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Protocol);
        CHECK(report.detail ==
              "starttls smtp: the server's greeting has a line longer than 4096 bytes");
    }
    SECTION("endless short lines") {
        std::string lines;
        for (int i = 0; i < 20000; ++i) {
            lines += "220-more\r\n";
        }
        test::ScriptedTcpServer chatty(h.loop(), lines);
        const auto report = h.run("smtp", localhost_target(chatty));
        CHECK_FALSE(report.success);
        CHECK(report.detail == "starttls smtp: the server sent more than 65536 bytes before TLS");
    }
    SECTION("no STARTTLS in the EHLO reply") {
        test::ScriptedTcpServer server(
            h.loop(), "220 mail\r\n", [](test::ScriptedTcpServer::Connection& c, std::string_view) {
                c.write("250-mail\r\n250 8BITMIME\r\n");
            });
        const auto report = h.run("smtp", localhost_target(server));
        CHECK_FALSE(report.success);
        CHECK(report.detail ==
              "starttls smtp: the server does not offer STARTTLS (no STARTTLS in its EHLO reply)");
    }
    SECTION("a wrong greeting") {
        test::ScriptedTcpServer server(h.loop(), "554 go away\r\n");
        const auto report = h.run("smtp", localhost_target(server));
        CHECK_FALSE(report.success);
        CHECK(report.detail == "starttls smtp: expected a 220 greeting, got \"554 go away\"");
    }
    SECTION("a server that closes after its greeting") {
        test::ScriptedTcpServer server(h.loop(), "+OK hi\r\n");
        server.close_after_greeting();
        const auto report = h.run("pop3", localhost_target(server));
        CHECK_FALSE(report.success);
        CHECK(report.detail.find("starttls pop3: connection closed by the server while waiting "
                                 "for its STLS reply") == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: a probe destroyed mid-flight is cancelled cleanly",
          "[integration][tls-prober]") {
    TlsProbePki pki;
    test::ProbeHarness h;
    h.load(tls_probe_modules(pki.ca_file.path()));
    std::optional<app::ProbeReport> report;

    SECTION("mid-STARTTLS") {
        test::ScriptedTcpServer silent(h.loop());
        auto run = h.start("imap", localhost_target(silent), 5, &report);
        REQUIRE(h.fixture().run_until([&] { return silent.accepted() > 0; }));
        run.reset();
        for (int i = 0; i < 10; ++i) {
            h.loop().run_once_nowait();
        }
        silent.stop();
    }
    SECTION("mid-handshake") {
        test::HostileOptions stall(test::Hostility::TlsStall);
        stall.tls = tls_probe_server_context(pki.leaf);
        test::HostileTcpServer server(h.loop(), stall);
        auto run = h.start("tls_ok", "localhost:" + std::to_string(server.port()), 5, &report);
        REQUIRE(h.fixture().run_until([&] { return server.stalled_handshakes() > 0; }));
        run.reset();
        for (int i = 0; i < 10; ++i) {
            h.loop().run_once_nowait();
        }
    }
    SECTION("while resolving") {
        auto run = h.start("tls_ok", "localhost:1", 5, &report);
        run.reset();
    }
    CHECK_FALSE(report.has_value());
    REQUIRE(h.close() == 0);
}

TEST_CASE("tls prober: sonde check runs a tls module and shows its phases",
          "[integration][tls-prober][check]") {
    test::TempDir dir;
    TlsProbePki pki;
    const std::string dead = "127.0.0.1:" + std::to_string(test::free_port());
    std::string ca_file = pki.ca_file.path();
    std::optional<test::NginxServer> nginx;
    if (test::NginxServer::available()) {
        nginx.emplace(0, 0);
        ca_file = nginx->ca_file();
    } else {
        WARN("nginx is not installed: " << test::NginxServer::kBinary);
    }
    const std::string config = dir.write(
        "sonde.yml",
        "modules:\n" + tls_module("tls_cert", ca_file, "      fail_if_expires_within: 1h\n"));
    if (nginx) {
        const std::string target = "localhost:" + std::to_string(nginx->https_port());
        const auto result = test::run_command(
            {SONDE_BINARY, "check", "--config.file=" + config, "tls_cert", target});
        INFO(result.output);
        CHECK(result.exit_code == 0);
        CHECK(result.output.rfind("OK tls_cert " + target + " in ", 0) == 0);
        CHECK(result.output.find("handshake") != std::string::npos);
        CHECK(result.output.find("version=TLS") != std::string::npos);
        CHECK(result.output.find("ssl_earliest_cert_expiry") != std::string::npos);
    }
    const auto result =
        test::run_command({SONDE_BINARY, "check", "--config.file=" + config, "tls_cert", dead});
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.rfind("FAIL tls_cert " + dead, 0) == 0);
    CHECK(result.output.find("connection refused") != std::string::npos);
}

}  // namespace
}  // namespace sonde

#include "prober/net/tls_session.hpp"

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/unit/net/tls_pair.hpp"

namespace sonde::net {
namespace {

using test::handshake;
using test::transfer;

// One CA and the leaves the tests need, made once for the whole file (key generation is the
// slow part, and none of the tests modifies them).
struct Pki {
    test::TestCert ca = test::make_ca("Test Root CA");
    test::TestCert localhost = test::make_signed(test::localhost_spec(), ca);
};
const Pki& pki() {
    static const Pki instance;
    return instance;
}

std::shared_ptr<const TlsServerContext> server_context(const test::TestCert& cert,
                                                       const TlsServerOptions& options = {}) {
    auto context = make_tls_server_context(cert.cert_pem, cert.key_pem, options);
    REQUIRE(context.has_value());
    return *context;
}

std::shared_ptr<const TlsClientContext> client_context(config::TlsConfig config) {
    auto context = make_tls_client_context(config);
    INFO((context ? std::string() : context.error()));
    REQUIRE(context.has_value());
    return *context;
}

config::TlsConfig trusting(const test::TestCert& ca) {
    config::TlsConfig config;
    config.ca = ca.cert_pem;
    return config;
}

TlsSession client_session(const config::TlsConfig& config, const std::string& host) {
    auto session = TlsSession::client(client_context(config), host);
    INFO((session ? std::string() : session.error()));
    REQUIRE(session.has_value());
    return std::move(session).value();
}

TlsSession server_session(const test::TestCert& cert, const TlsServerOptions& options = {}) {
    auto session = TlsSession::server(server_context(cert, options));
    REQUIRE(session.has_value());
    return std::move(session).value();
}

TEST_CASE("a client verifies a server whose CA it trusts", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(pki().localhost);

    const auto outcome = handshake(client, server);
    INFO(client.error());
    REQUIRE(outcome.client == HandshakeState::Done);
    REQUIRE(outcome.server == HandshakeState::Done);
    CHECK(client.error().empty());
    CHECK(client.version() == "TLS 1.3");
    CHECK(client.cipher().rfind("TLS_", 0) == 0);
    CHECK(client.peer_chain().size() == 1);
    CHECK(client.verified_chain().size() == 2);  // the leaf and the trusted root
    CHECK(client.peer_name() == "localhost");
    CHECK(server.requested_server_name() == "localhost");
}

TEST_CASE("an IP literal target is verified against IP SANs and sends no SNI", "[unit][tls]") {
    const std::string host = GENERATE(as<std::string>{}, "127.0.0.1", "::1", "[::1]");
    TlsSession client = client_session(trusting(pki().ca), host);
    TlsSession server = server_session(pki().localhost);

    const auto outcome = handshake(client, server);
    INFO(client.error());
    REQUIRE(outcome.client == HandshakeState::Done);
    CHECK(server.requested_server_name().empty());
}

TEST_CASE("server_name replaces the target host for SNI and verification", "[unit][tls]") {
    config::TlsConfig config = trusting(pki().ca);
    config.server_name = "localhost";
    TlsSession client = client_session(config, "192.0.2.7");
    TlsSession server = server_session(pki().localhost);

    REQUIRE(handshake(client, server).client == HandshakeState::Done);
    CHECK(server.requested_server_name() == "localhost");
}

TEST_CASE("an expired certificate fails with a reason naming the expiry", "[unit][tls]") {
    test::CertSpec spec = test::localhost_spec();
    spec.not_before_offset = -2 * 86400;
    spec.not_after_offset = -86400;
    const test::TestCert expired = test::make_signed(spec, pki().ca);
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(expired);

    const auto outcome = handshake(client, server);
    CHECK(outcome.client == HandshakeState::Failed);
    CHECK(outcome.server == HandshakeState::Failed);  // the client's alert ends it there too
    CHECK_THAT(client.error(), Catch::Contains("certificate verify failed") &&
                                   Catch::Contains("certificate has expired") &&
                                   Catch::Contains("depth 0") && Catch::Contains("CN=localhost"));
    CHECK(client.verified_chain().empty());
}

TEST_CASE("a certificate for another host fails with a hostname mismatch", "[unit][tls]") {
    test::CertSpec spec;
    spec.subject = {{"CN", "other.example"}};
    spec.dns_names = {"other.example", "www.other.example"};
    const test::TestCert wrong_host = test::make_signed(spec, pki().ca);
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(wrong_host);

    CHECK(handshake(client, server).client == HandshakeState::Failed);
    CHECK(client.error() ==
          "certificate verify failed: hostname mismatch: certificate is valid for "
          "other.example, www.other.example, not localhost");
}

TEST_CASE("the subject CN is never used instead of SANs, as in Go", "[unit][tls]") {
    test::CertSpec spec;
    spec.subject = {{"CN", "localhost"}};  // no SAN at all
    const test::TestCert cn_only = test::make_signed(spec, pki().ca);
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(cn_only);

    CHECK(handshake(client, server).client == HandshakeState::Failed);
    CHECK_THAT(client.error(), Catch::Contains("hostname mismatch") &&
                                   Catch::Contains("no DNS or IP subject alternative names"));
}

TEST_CASE("an IP the certificate does not name fails with an IP mismatch", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "127.0.0.2");
    TlsSession server = server_session(pki().localhost);

    CHECK(handshake(client, server).client == HandshakeState::Failed);
    CHECK_THAT(client.error(),
               Catch::Contains("IP address mismatch") && Catch::Contains("not 127.0.0.2"));
}

TEST_CASE("a self-signed certificate fails, and passes with insecure_skip_verify", "[unit][tls]") {
    const test::TestCert self_signed = test::make_self_signed(test::localhost_spec());
    SECTION("verified against the system roots: fails") {
        TlsSession client = client_session(config::TlsConfig{}, "localhost");
        TlsSession server = server_session(self_signed);
        CHECK(handshake(client, server).client == HandshakeState::Failed);
        CHECK_THAT(client.error(), Catch::Contains("certificate verify failed") &&
                                       Catch::Contains("self") && Catch::Contains("signed"));
    }
    SECTION("insecure_skip_verify: the handshake completes and nothing counts as verified") {
        config::TlsConfig config;
        config.insecure_skip_verify = true;
        TlsSession client = client_session(config, "wrong.example");
        TlsSession server = server_session(self_signed);
        REQUIRE(handshake(client, server).client == HandshakeState::Done);
        CHECK(client.peer_chain().size() == 1);
        CHECK(client.verified_chain().empty());
    }
}

TEST_CASE("a certificate from an untrusted CA fails", "[unit][tls]") {
    const test::TestCert other_ca = test::make_ca("Other CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), other_ca);
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(leaf);

    CHECK(handshake(client, server).client == HandshakeState::Failed);
    CHECK_THAT(client.error(), Catch::Contains("unable to get local issuer certificate"));
}

TEST_CASE("version limits are applied on both sides", "[unit][tls]") {
    SECTION("client min TLS 1.3 against a server capped at TLS 1.2 fails") {
        config::TlsConfig config = trusting(pki().ca);
        config.min_version = config::TlsVersion::Tls13;
        TlsServerOptions options;
        options.max_version = config::TlsVersion::Tls12;
        TlsSession client = client_session(config, "localhost");
        TlsSession server = server_session(pki().localhost, options);

        const auto outcome = handshake(client, server);
        CHECK(outcome.client == HandshakeState::Failed);
        CHECK(outcome.server == HandshakeState::Failed);
        CHECK_THAT(client.error(),
                   Catch::StartsWith("tls: handshake failure, peer does not support TLS 1.3"));
        CHECK(client.version() == "unknown");
    }
    SECTION("a client capped at TLS 1.2 negotiates TLS 1.2") {
        config::TlsConfig config = trusting(pki().ca);
        config.max_version = config::TlsVersion::Tls12;
        TlsSession client = client_session(config, "localhost");
        TlsSession server = server_session(pki().localhost);

        REQUIRE(handshake(client, server).client == HandshakeState::Done);
        CHECK(client.version() == "TLS 1.2");
        CHECK(server.version() == "TLS 1.2");
        CHECK(client.cipher().rfind("TLS_ECDHE_ECDSA_WITH_", 0) == 0);
    }
}

TEST_CASE("a configured client certificate is presented to the server", "[unit][tls]") {
    const test::TestCert client_ca = test::make_ca("Client CA");
    test::CertSpec spec;
    spec.subject = {{"CN", "prober"}};
    const test::TestCert client_cert = test::make_signed(spec, client_ca);
    TlsServerOptions options;
    options.client_ca_pem = client_ca.cert_pem;
    options.require_client_cert = true;

    SECTION("with cert and key") {
        config::TlsConfig config = trusting(pki().ca);
        config.cert = client_cert.cert_pem;
        config.key.value = client_cert.key_pem;
        TlsSession client = client_session(config, "localhost");
        TlsSession server = server_session(pki().localhost, options);

        const auto outcome = handshake(client, server);
        INFO(server.error());
        REQUIRE(outcome.client == HandshakeState::Done);
        REQUIRE(outcome.server == HandshakeState::Done);
        const auto chain = server.peer_chain();
        REQUIRE(chain.size() == 1);
        CHECK(X509_cmp(chain.front(), client_cert.x509().get()) == 0);
        CHECK(server.verified_chain().size() == 2);
    }
    SECTION("without: the server refuses, and the client learns it when it reads") {
        TlsSession client = client_session(trusting(pki().ca), "localhost");
        TlsSession server = server_session(pki().localhost, options);

        const auto outcome = handshake(client, server);
        CHECK(outcome.server == HandshakeState::Failed);
        // In TLS 1.3 the client finishes first; the server's alert arrives as data.
        std::string data;
        CHECK(client.read(data) == ReadStatus::Failed);
        CHECK_THAT(client.error(), Catch::Contains("certificate required"));
    }
}

TEST_CASE("data flows both ways after the handshake, and close_notify ends it", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(pki().localhost);
    REQUIRE(handshake(client, server).server == HandshakeState::Done);

    REQUIRE(client.write("PING\r\n").has_value());
    transfer(client, server);
    std::string received;
    CHECK(server.read(received) == ReadStatus::Open);
    CHECK(received == "PING\r\n");

    // Larger than one TLS record (16 KiB), so it is split and reassembled.
    const std::string big(100000, 'x');
    REQUIRE(server.write(big).has_value());
    transfer(server, client);
    std::string reply;
    CHECK(client.read(reply) == ReadStatus::Open);
    CHECK(reply == big);

    server.shutdown();
    transfer(server, client);
    std::string rest;
    CHECK(client.read(rest) == ReadStatus::Closed);
    CHECK(rest.empty());
    CHECK(client.error().empty());
}

TEST_CASE("plaintext split at every byte boundary is reassembled", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(pki().localhost);
    // Handshake one byte at a time: the memory BIOs must cope with arbitrary fragmentation.
    (void)client.step();
    for (int round = 0; round < 16; ++round) {
        const std::string to_server = client.take_output();
        for (const char c : to_server) {
            server.feed(std::string_view(&c, 1));
            (void)server.step();
        }
        const std::string to_client = server.take_output();
        for (const char c : to_client) {
            client.feed(std::string_view(&c, 1));
            (void)client.step();
        }
        if (to_server.empty() && to_client.empty()) {
            break;
        }
    }
    REQUIRE(client.handshake_state() == HandshakeState::Done);
    REQUIRE(server.handshake_state() == HandshakeState::Done);
}

TEST_CASE("EOF at a record boundary is a clean end, as in Go", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    TlsSession server = server_session(pki().localhost);
    REQUIRE(handshake(client, server).client == HandshakeState::Done);
    REQUIRE(server.write("bye").has_value());
    transfer(server, client);
    client.feed_eof();
    std::string data;
    CHECK(client.read(data) == ReadStatus::Closed);
    CHECK(data == "bye");
}

TEST_CASE("EOF during the handshake fails it", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    REQUIRE(client.step() == HandshakeState::InProgress);
    CHECK(client.has_output());
    client.feed_eof();
    CHECK(client.step() == HandshakeState::Failed);
    CHECK_THAT(client.error(), Catch::Contains("connection closed by peer during the handshake"));
}

TEST_CASE("a plaintext reply is reported as not TLS", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    (void)client.step();
    client.feed("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    CHECK(client.step() == HandshakeState::Failed);
    CHECK_THAT(client.error(), Catch::Contains("does not speak TLS"));
}

TEST_CASE("verification needs a name", "[unit][tls]") {
    auto verified = TlsSession::client(client_context(trusting(pki().ca)), "");
    REQUIRE_FALSE(verified.has_value());
    CHECK_THAT(verified.error(), Catch::Contains("server_name or insecure_skip_verify"));

    config::TlsConfig insecure;
    insecure.insecure_skip_verify = true;
    CHECK(TlsSession::client(client_context(insecure), "").has_value());
}

TEST_CASE("sessions can be destroyed or moved in the middle of the handshake", "[unit][tls]") {
    SECTION("destroyed after each flight") {
        for (int stop_after = 0; stop_after < 4; ++stop_after) {
            auto client =
                std::make_unique<TlsSession>(client_session(trusting(pki().ca), "localhost"));
            auto server = std::make_unique<TlsSession>(server_session(pki().localhost));
            for (int round = 0; round < stop_after; ++round) {
                (void)client->step();
                transfer(*client, *server);
                (void)server->step();
                transfer(*server, *client);
            }
            // Bytes left unread in the BIOs and a half-done handshake must all be freed.
            client->feed("garbage that is never read");
            client.reset();
            server.reset();
        }
    }
    SECTION("moved between steps: verification state follows the session") {
        test::CertSpec spec = test::localhost_spec();
        spec.not_after_offset = -60;
        spec.not_before_offset = -3600;
        const test::TestCert expired = test::make_signed(spec, pki().ca);
        TlsSession client = client_session(trusting(pki().ca), "localhost");
        TlsSession server = server_session(expired);
        (void)client.step();
        transfer(client, server);
        (void)server.step();
        transfer(server, client);
        TlsSession moved = std::move(client);
        CHECK(moved.step() == HandshakeState::Failed);
        CHECK_THAT(moved.error(), Catch::Contains("certificate has expired"));
    }
}

TEST_CASE("writes before the handshake are refused", "[unit][tls]") {
    TlsSession client = client_session(trusting(pki().ca), "localhost");
    auto written = client.write("early");
    REQUIRE_FALSE(written.has_value());
    CHECK(written.error() == "tls: write before the handshake");
}

}  // namespace
}  // namespace sonde::net

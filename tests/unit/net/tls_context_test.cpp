#include "prober/net/tls_context.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "prober/net/tls_session.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/unit/net/tls_pair.hpp"

namespace sonde::net {
namespace {

TEST_CASE("Go's version defaults apply when min/max are unset", "[unit][tls]") {
    auto context = make_tls_client_context(config::TlsConfig{});
    REQUIRE(context.has_value());
    CHECK((*context)->min_version() == TLS1_2_VERSION);
    CHECK((*context)->max_version() == TLS1_3_VERSION);
    CHECK_FALSE((*context)->insecure_skip_verify());
}

TEST_CASE("min_version above max_version is refused", "[unit][tls]") {
    config::TlsConfig config;
    config.min_version = config::TlsVersion::Tls13;
    config.max_version = config::TlsVersion::Tls12;
    auto context = make_tls_client_context(config);
    REQUIRE_FALSE(context.has_value());
    CHECK(context.error() == "TLS min_version TLS 1.3 is above max_version TLS 1.2");
}

TEST_CASE("unreadable files are named in the error", "[unit][tls]") {
    const std::string missing = "/nonexistent/sonde-test/file.pem";
    config::TlsConfig config;
    SECTION("ca_file") {
        config.ca_file = missing;
        auto context = make_tls_client_context(config);
        REQUIRE_FALSE(context.has_value());
        CHECK(context.error() ==
              "unable to read CA file \"" + missing + "\": No such file or directory");
    }
    SECTION("cert_file") {
        config.cert_file = missing;
        config.key_file = missing;
        auto context = make_tls_client_context(config);
        REQUIRE_FALSE(context.has_value());
        CHECK_THAT(context.error(),
                   Catch::StartsWith("unable to read client certificate file \"" + missing + "\""));
    }
    SECTION("key_file") {
        const test::TestCert cert = test::make_self_signed(test::localhost_spec());
        const test::TempFile cert_file(cert.cert_pem);
        config.cert_file = cert_file.path();
        config.key_file = missing;
        auto context = make_tls_client_context(config);
        REQUIRE_FALSE(context.has_value());
        CHECK_THAT(context.error(),
                   Catch::StartsWith("unable to read client key file \"" + missing + "\""));
    }
}

TEST_CASE("PEM content that holds no certificate or a wrong key is refused", "[unit][tls]") {
    config::TlsConfig config;
    SECTION("a CA file without a certificate names the file") {
        const test::TempFile file("not a certificate\n");
        config.ca_file = file.path();
        auto context = make_tls_client_context(config);
        REQUIRE_FALSE(context.has_value());
        CHECK(context.error() ==
              "unable to use CA certificate \"" + file.path() + "\": no PEM certificate found");
    }
    SECTION("a truncated inline CA") {
        const test::TestCert ca = test::make_ca("Test CA");
        config.ca = ca.cert_pem.substr(0, ca.cert_pem.size() / 2);
        auto context = make_tls_client_context(config);
        REQUIRE_FALSE(context.has_value());
        CHECK_THAT(context.error(), Catch::StartsWith("unable to use CA certificate (inline)"));
    }
    SECTION("a key that does not belong to the certificate") {
        const test::TestCert one = test::make_self_signed(test::localhost_spec());
        const test::TestCert two = test::make_self_signed(test::localhost_spec());
        config.cert = one.cert_pem;
        config.key.value = two.key_pem;
        auto context = make_tls_client_context(config);
        REQUIRE_FALSE(context.has_value());
        CHECK_THAT(context.error(), Catch::StartsWith("client certificate (inline) and key "
                                                      "(inline) do not match"));
    }
    SECTION("a certificate without a key") {
        const test::TestCert one = test::make_self_signed(test::localhost_spec());
        config.cert = one.cert_pem;
        auto context = make_tls_client_context(config);
        REQUIRE_FALSE(context.has_value());
        CHECK(context.error() == "client certificate given without a key");
    }
}

TEST_CASE("ca_file, cert_file and key_file are read from disk", "[unit][tls]") {
    const test::TestCert ca = test::make_ca("File CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TestCert client_cert = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    const test::TempFile cert_file(client_cert.cert_pem);
    const test::TempFile key_file(client_cert.key_pem);
    config::TlsConfig config;
    config.ca_file = ca_file.path();
    config.cert_file = cert_file.path();
    config.key_file = key_file.path();
    auto client_context = make_tls_client_context(config);
    INFO((client_context ? std::string() : client_context.error()));
    REQUIRE(client_context.has_value());

    TlsServerOptions options;
    options.client_ca_pem = ca.cert_pem;
    options.require_client_cert = true;
    auto server_context = make_tls_server_context(leaf.cert_pem, leaf.key_pem, options);
    REQUIRE(server_context.has_value());
    auto client = TlsSession::client(*client_context, "localhost");
    auto server = TlsSession::server(*server_context);
    REQUIRE(client.has_value());
    REQUIRE(server.has_value());
    const auto outcome = test::handshake(*client, *server);
    CHECK(outcome.client == HandshakeState::Done);
    CHECK(outcome.server == HandshakeState::Done);
}

TEST_CASE("a context outlives its owner's reference while sessions use it", "[unit][tls]") {
    const test::TestCert ca = test::make_ca("Test CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    config::TlsConfig config;
    config.ca = ca.cert_pem;
    auto context = make_tls_client_context(config);
    REQUIRE(context.has_value());
    auto client = TlsSession::client(*context, "localhost");
    REQUIRE(client.has_value());
    context = make_tls_client_context(config::TlsConfig{});  // a reload drops the old one
    auto server_context = make_tls_server_context(leaf.cert_pem, leaf.key_pem);
    REQUIRE(server_context.has_value());
    auto server = TlsSession::server(*server_context);
    REQUIRE(server.has_value());
    CHECK(test::handshake(*client, *server).client == HandshakeState::Done);
}

TEST_CASE("version names are the exporter's", "[unit][tls]") {
    CHECK(tls_version_name(TLS1_VERSION) == "TLS 1.0");
    CHECK(tls_version_name(TLS1_1_VERSION) == "TLS 1.1");
    CHECK(tls_version_name(TLS1_2_VERSION) == "TLS 1.2");
    CHECK(tls_version_name(TLS1_3_VERSION) == "TLS 1.3");
    CHECK(tls_version_name(0) == "unknown");
}

}  // namespace
}  // namespace sonde::net

#include "modules/common/tls_metrics.hpp"

#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config/config.hpp"
#include "modules/common/tls_metrics_format.hpp"
#include "prober/net/tls_context.hpp"
#include "prober/net/tls_session.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/unit/net/tls_pair.hpp"

namespace sonde::modules {
namespace {

constexpr std::int64_t kDay = 86400;

// A completed client session against a server presenting `chain_pem` (leaf first).
struct Connected {
    net::TlsSession client;
    net::TlsSession server;
};

Connected connect(const std::string& chain_pem, const std::string& key_pem,
                  config::TlsConfig config, const net::TlsServerOptions& options = {}) {
    auto server_context = net::make_tls_server_context(chain_pem, key_pem, options);
    REQUIRE(server_context.has_value());
    auto client_context = net::make_tls_client_context(config);
    REQUIRE(client_context.has_value());
    auto client = net::TlsSession::client(*client_context, "localhost");
    auto server = net::TlsSession::server(*server_context);
    REQUIRE(client.has_value());
    REQUIRE(server.has_value());
    Connected connected{std::move(client).value(), std::move(server).value()};
    const auto outcome = test::handshake(connected.client, connected.server);
    INFO(connected.client.error());
    REQUIRE(outcome.client == net::HandshakeState::Done);
    return connected;
}

std::string der_sha256(const test::TestCert& cert) {
    net::X509Ptr x509 = cert.x509();
    unsigned char* der = nullptr;
    const int length = i2d_X509(x509.get(), &der);
    REQUIRE(length > 0);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    REQUIRE(EVP_Digest(der, static_cast<std::size_t>(length), digest, &digest_length, EVP_sha256(),
                       nullptr) == 1);
    OPENSSL_free(der);
    std::string text;
    char byte[3];
    for (unsigned int i = 0; i < digest_length; ++i) {
        std::snprintf(byte, sizeof byte, "%02x", digest[i]);
        text += byte;
    }
    return text;
}

TEST_CASE("TLS metrics carry the exporter's names, HELP, labels and values", "[unit][tls]") {
    const test::TestCert ca = test::make_ca("Test Root CA");
    test::CertSpec spec = test::localhost_spec();
    spec.dns_names = {"localhost", "probe.example"};
    spec.serial = {0x0B, 0xFF, 0xBC, 0x11};
    const test::TestCert leaf = test::make_signed(spec, ca);
    config::TlsConfig config;
    config.ca = ca.cert_pem;
    Connected c = connect(leaf.cert_pem, leaf.key_pem, config);

    prometheus::Registry registry;
    record_tls_metrics(registry, c.client, /*include_cipher=*/true);

    CHECK(test::metric_help(registry, "probe_ssl_earliest_cert_expiry") ==
          "Returns last SSL chain expiry in unixtime");
    CHECK(test::metric_help(registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
          "Returns last SSL chain expiry in timestamp");
    CHECK(test::metric_help(registry, "probe_ssl_last_chain_info") ==
          "Contains SSL leaf certificate information");
    CHECK(test::metric_help(registry, "probe_tls_version_info") ==
          "Returns the TLS version used or NaN when unknown");
    CHECK(test::metric_help(registry, "probe_tls_cipher_info") ==
          "Returns the TLS cipher negotiated during handshake");

    CHECK(test::metric_value(registry, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(leaf.not_after));
    CHECK(test::metric_value(registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
          static_cast<double>(leaf.not_after));
    const test::LabelMap info = {{"fingerprint_sha256", der_sha256(leaf)},
                                 {"subject", "CN=localhost,O=Acme Co,C=US"},
                                 {"issuer", "CN=Test Root CA,O=Sonde Test"},
                                 {"subjectalternative", "localhost,probe.example"},
                                 {"serialnumber", "0bffbc11"}};
    CHECK(test::metric_label_sets(registry, "probe_ssl_last_chain_info") ==
          std::vector<test::LabelMap>{info});
    CHECK(test::metric_value(registry, "probe_ssl_last_chain_info", info) == 1.0);
    CHECK(test::metric_value(registry, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1.0);
    CHECK(test::metric_value(registry, "probe_tls_cipher_info", {{"cipher", c.client.cipher()}}) ==
          1.0);
    CHECK(c.client.cipher().rfind("TLS_AES_", 0) == 0);
}

TEST_CASE("the cipher metric is only there when asked for (tcp leaves it out)", "[unit][tls]") {
    const test::TestCert ca = test::make_ca("Test Root CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    config::TlsConfig config;
    config.ca = ca.cert_pem;
    config.max_version = config::TlsVersion::Tls12;
    Connected c = connect(leaf.cert_pem, leaf.key_pem, config);

    prometheus::Registry registry;
    record_tls_metrics(registry, c.client, /*include_cipher=*/false);
    CHECK_FALSE(test::metric_help(registry, "probe_tls_cipher_info").has_value());
    CHECK(test::metric_value(registry, "probe_tls_version_info", {{"version", "TLS 1.2"}}) == 1.0);
}

TEST_CASE("earliest expiry covers every presented certificate, last chain only the verified one",
          "[unit][tls]") {
    const test::TestCert root = test::make_ca("Root", 3650 * kDay);
    const test::TestCert intermediate = test::make_intermediate("Intermediate", root, 30 * kDay);
    test::CertSpec spec = test::localhost_spec();
    spec.not_after_offset = 90 * kDay;
    const test::TestCert leaf = test::make_signed(spec, intermediate);
    config::TlsConfig config;
    config.ca = root.cert_pem;

    SECTION("a 3-certificate chain: the intermediate expires first") {
        Connected c =
            connect(leaf.cert_pem + intermediate.cert_pem + root.cert_pem, leaf.key_pem, config);
        REQUIRE(c.client.peer_chain().size() == 3);
        prometheus::Registry registry;
        record_tls_metrics(registry, c.client, false);
        CHECK(test::metric_value(registry, "probe_ssl_earliest_cert_expiry") ==
              static_cast<double>(intermediate.not_after));
        CHECK(test::metric_value(registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
              static_cast<double>(intermediate.not_after));
    }
    SECTION("an extra certificate outside the verified chain counts only for the earliest") {
        const test::TestCert stray = test::make_ca("Stray", 5 * kDay);
        Connected c =
            connect(leaf.cert_pem + intermediate.cert_pem + stray.cert_pem, leaf.key_pem, config);
        REQUIRE(c.client.peer_chain().size() == 3);
        REQUIRE(c.client.verified_chain().size() == 3);  // leaf, intermediate, root
        prometheus::Registry registry;
        record_tls_metrics(registry, c.client, false);
        CHECK(test::metric_value(registry, "probe_ssl_earliest_cert_expiry") ==
              static_cast<double>(stray.not_after));
        CHECK(test::metric_value(registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
              static_cast<double>(intermediate.not_after));
    }
}

TEST_CASE("without verification the last chain expiry is Go's zero time", "[unit][tls]") {
    const test::TestCert self_signed = test::make_self_signed(test::localhost_spec());
    config::TlsConfig config;
    config.insecure_skip_verify = true;
    Connected c = connect(self_signed.cert_pem, self_signed.key_pem, config);

    prometheus::Registry registry;
    record_tls_metrics(registry, c.client, false);
    CHECK(test::metric_value(registry, "probe_ssl_last_chain_expiry_timestamp_seconds") ==
          -62135596800.0);
    CHECK(test::metric_value(registry, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(self_signed.not_after));
    const auto info = test::metric_label_sets(registry, "probe_ssl_last_chain_info");
    REQUIRE(info.size() == 1);
    CHECK(info.front().at("subject") == info.front().at("issuer"));
}

std::string subject_of(const test::CertSpec& spec) {
    const test::TestCert cert = test::make_self_signed(spec);
    net::X509Ptr x509 = cert.x509();
    return go_name_string(X509_get_subject_name(x509.get()));
}

TEST_CASE("names are rendered as Go's pkix.Name.String()", "[unit][tls]") {
    test::CertSpec spec;
    SECTION("reverse order of the standard fields, whatever the DER order") {
        spec.subject = {{"CN", "x"}, {"O", "Org"}, {"C", "DE"}, {"L", "Berlin"}, {"ST", "BE"}};
        CHECK(subject_of(spec) == "CN=x,O=Org,L=Berlin,ST=BE,C=DE");
    }
    SECTION("several values of one field are one RDN joined with +") {
        spec.subject = {{"C", "US"}, {"OU", "a"}, {"OU", "b"}, {"CN", "x"}};
        CHECK(subject_of(spec) == "CN=x,OU=a+OU=b,C=US");
    }
    SECTION("the last CN wins") {
        spec.subject = {{"CN", "first"}, {"CN", "second"}};
        CHECK(subject_of(spec) == "CN=second");
    }
    SECTION("special characters are escaped; '#' only in first position") {
        spec.subject = {{"O", "Acme, Inc. <\"R+D\">;\\"}, {"CN", " #lead and trail "}};
        CHECK(subject_of(spec) ==
              "CN=\\ #lead and trail\\ ,O=Acme\\, Inc. \\<\\\"R\\+D\\\"\\>\\;\\\\");
    }
    SECTION("a leading '#' is escaped") {
        spec.subject = {{"CN", "#x"}};
        CHECK(subject_of(spec) == "CN=\\#x");
    }
    SECTION("a '#' not at the start and UTF-8 are kept as they are") {
        spec.subject = {{"CN", "a#b Grüße"}};
        CHECK(subject_of(spec) == "CN=a#b Grüße");
    }
    SECTION("other attributes print last, as OID=#DER hex of Go's re-marshalled string") {
        spec.subject = {
            {"C", "US"}, {"CN", "x"}, {"emailAddress", "a@b.c"}, {"1.2.3.4", "Plain Text"}};
        // "a@b.c": '@' is not PrintableString, so Go marshals a UTF8String (tag 0c). The
        // extras keep their relative order, reversed like everything else.
        CHECK(subject_of(spec) ==
              "CN=x,C=US,1.2.3.4=#130a506c61696e2054657874,1.2.840.113549.1.9.1=#0c056140622e63");
    }
    SECTION("SERIALNUMBER, STREET and POSTALCODE have names") {
        spec.subject = {
            {"serialNumber", "42"}, {"street", "Main St 1"}, {"postalCode", "12345"}, {"CN", "x"}};
        CHECK(subject_of(spec) == "SERIALNUMBER=42,CN=x,POSTALCODE=12345,STREET=Main St 1");
    }
}

std::string serial_of(std::vector<unsigned char> serial) {
    test::CertSpec spec;
    spec.serial = std::move(serial);
    const test::TestCert cert = test::make_self_signed(spec);
    return go_serial_hex(cert.x509().get());
}

TEST_CASE("serial numbers are Go's %x of SerialNumber.Bytes()", "[unit][tls]") {
    // A leading zero nibble is kept: every byte prints as two digits (utils_test.go: 0BFF...).
    CHECK(serial_of({0x0B, 0xFF, 0xBC, 0x11, 0x01}) == "0bffbc1101");
    // DER adds a 00 sign byte before a high first byte; big.Int.Bytes() has no such byte.
    CHECK(serial_of({0x00, 0xFF, 0x01}) == "ff01");
    CHECK(serial_of({0x80}) == "80");
    CHECK(serial_of({0x01}) == "01");
    CHECK(serial_of({0x00}).empty());  // big.NewInt(0).Bytes() is empty
}

TEST_CASE("SANs: DNS names joined with commas, IP addresses left out", "[unit][tls]") {
    test::CertSpec spec;
    spec.dns_names = {"a.example", "b.example", "*.c.example"};
    spec.ip_addresses = {"127.0.0.1"};
    const test::TestCert cert = test::make_self_signed(spec);
    CHECK(dns_names_joined(cert.x509().get()) == "a.example,b.example,*.c.example");
    spec.dns_names.clear();
    CHECK(dns_names_joined(test::make_self_signed(spec).x509().get()).empty());
}

TEST_CASE("NotAfter converts to Unix seconds, also far from 1970", "[unit][tls]") {
    test::CertSpec spec;
    spec.not_after_offset = 40LL * 365 * kDay;  // past 2038: GeneralizedTime after 2049
    const test::TestCert cert = test::make_self_signed(spec);
    CHECK(not_after_unix(cert.x509().get()) == static_cast<double>(cert.not_after));
}

}  // namespace
}  // namespace sonde::modules

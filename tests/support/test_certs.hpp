#pragma once

// Certificates made on the fly for tests (no checked-in keys that expire or leak): a CA, leaves
// signed by it, self-signed certificates, expired ones, odd serials and subjects. Built with
// OpenSSL's APIs and returned as PEM strings, optionally written to temporary files for configs
// that take *_file paths. Keys are EC P-256, which is fast enough to make per test.
//
// Usage:
//   auto ca = test::make_ca("Test Root CA");
//   auto leaf = test::make_signed(test::localhost_spec(), ca);
//   auto server = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
//   config.ca = ca.cert_pem;

#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "prober/net/tls_ptr.hpp"

namespace sonde::test {

struct CertSpec {
    // Subject attributes in DER order (most significant first), by OpenSSL short name or OID:
    // {{"C", "US"}, {"O", "Acme Co"}, {"CN", "localhost"}}. A type written with a leading '+'
    // ("+OU") joins the previous RDN, making a multi-valued RDN.
    std::vector<std::pair<std::string, std::string>> subject = {{"CN", "localhost"}};
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;
    // Validity in seconds relative to now (negative = in the past).
    std::int64_t not_before_offset = -3600;
    std::int64_t not_after_offset = 24 * 3600;
    // Big-endian serial bytes (a leading 0x00 is dropped by the encoding, as DER requires);
    // empty: 16 random bytes.
    std::vector<unsigned char> serial;
    bool is_ca = false;
};

struct TestCert {
    std::string cert_pem;
    std::string key_pem;
    std::time_t not_after = 0;  // Unix seconds, as written into the certificate

    net::X509Ptr x509() const;  // a parsed copy of the certificate
    net::EvpPkeyPtr private_key() const;
};

// CN=localhost,O=Acme Co,C=US with DNS:localhost, IP:127.0.0.1 and IP:::1.
CertSpec localhost_spec();

TestCert make_self_signed(const CertSpec& spec);
TestCert make_signed(const CertSpec& spec, const TestCert& issuer);
// A self-signed CA certificate with the given common name, valid for ten years by default.
TestCert make_ca(const std::string& common_name,
                 std::int64_t not_after_offset = 10LL * 365 * 86400);
// An intermediate CA signed by `issuer`.
TestCert make_intermediate(const std::string& common_name, const TestCert& issuer,
                           std::int64_t not_after_offset = 365LL * 86400);

// A file under the system temp directory holding `content`, removed by the destructor.
class TempFile {
public:
    explicit TempFile(const std::string& content, const std::string& suffix = ".pem");
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace sonde::test

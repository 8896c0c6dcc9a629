#include "tests/support/test_certs.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include "prober/net/tls_errors.hpp"

namespace sonde::test {
namespace {

// Test helpers fail loudly: an exception reaches Catch, which reports it with the OpenSSL text.
void check(bool ok, const std::string& what) {
    if (!ok) {
        throw std::runtime_error("test_certs: " + what + ": " + net::drain_openssl_errors());
    }
}

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string cert_to_pem(X509* cert) {
    net::BioPtr bio(BIO_new(BIO_s_mem()));
    check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
    return bio_string(bio.get());
}

std::string key_to_pem(EVP_PKEY* key) {
    net::BioPtr bio(BIO_new(BIO_s_mem()));
    check(
        bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
    return bio_string(bio.get());
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "extension " + value);
    const int added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(added == 1, "X509_add_ext " + value);
}

void set_serial(X509* cert, std::vector<unsigned char> bytes) {
    if (bytes.empty()) {
        bytes.resize(16);
        check(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1, "RAND_bytes");
        bytes[0] &= 0x7FU;  // positive, and no sign byte needed
        bytes[0] |= 0x01U;  // never a leading zero byte, so tests can rely on 16 bytes
    }
    std::unique_ptr<BIGNUM, decltype(&BN_free)> number(
        BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr), &BN_free);
    check(number != nullptr, "BN_bin2bn");
    check(BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(cert)) != nullptr,
          "BN_to_ASN1_INTEGER");
}

X509_NAME* build_name(const std::vector<std::pair<std::string, std::string>>& attributes) {
    X509_NAME* name = X509_NAME_new();
    check(name != nullptr, "X509_NAME_new");
    for (const auto& [type, value] : attributes) {
        const bool join_previous = !type.empty() && type.front() == '+';
        const std::string field = join_previous ? type.substr(1) : type;
        // set = -1 adds to the previous RDN, 0 starts a new one.
        const int ok =
            X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), -1, join_previous ? -1 : 0);
        if (ok != 1) {
            X509_NAME_free(name);
            check(false, "subject attribute " + field);
        }
    }
    return name;
}

// Builds and signs; issuer == nullptr means self-signed.
TestCert build(const CertSpec& spec, const TestCert* issuer) {
    ERR_clear_error();
    net::EvpPkeyPtr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen");
    net::X509Ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
    set_serial(cert.get(), spec.serial);

    const std::time_t now = std::time(nullptr);
    const std::time_t not_before = now + static_cast<std::time_t>(spec.not_before_offset);
    const std::time_t not_after = now + static_cast<std::time_t>(spec.not_after_offset);
    check(ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) != nullptr, "notBefore");
    check(ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) != nullptr, "notAfter");

    X509_NAME* subject = build_name(spec.subject);
    const int subject_set = X509_set_subject_name(cert.get(), subject);
    X509_NAME_free(subject);
    check(subject_set == 1, "X509_set_subject_name");
    check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");

    net::X509Ptr issuer_cert = issuer != nullptr ? issuer->x509() : nullptr;
    net::EvpPkeyPtr issuer_key = issuer != nullptr ? issuer->private_key() : nullptr;
    X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
    EVP_PKEY* signing_key = issuer_key ? issuer_key.get() : key.get();
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1,
          "X509_set_issuer_name");

    add_extension(cert.get(), signer, NID_basic_constraints,
                  spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage,
                  spec.is_ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                             : "critical,digitalSignature,keyEncipherment");
    if (!spec.is_ca) {
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) {
        add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    }
    std::string sans;
    for (const std::string& dns : spec.dns_names) {
        sans += (sans.empty() ? "DNS:" : ",DNS:") + dns;
    }
    for (const std::string& ip : spec.ip_addresses) {
        sans += (sans.empty() ? "IP:" : ",IP:") + ip;
    }
    if (!sans.empty()) {
        add_extension(cert.get(), signer, NID_subject_alt_name, sans);
    }

    check(X509_sign(cert.get(), signing_key, EVP_sha256()) > 0, "X509_sign");
    return TestCert{cert_to_pem(cert.get()), key_to_pem(key.get()), not_after};
}

}  // namespace

net::X509Ptr TestCert::x509() const {
    net::BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    net::X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    check(cert != nullptr, "PEM_read_bio_X509");
    return cert;
}

net::EvpPkeyPtr TestCert::private_key() const {
    net::BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    net::EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                            : nullptr);
    check(key != nullptr, "PEM_read_bio_PrivateKey");
    return key;
}

CertSpec localhost_spec() {
    CertSpec spec;
    spec.subject = {{"C", "US"}, {"O", "Acme Co"}, {"CN", "localhost"}};
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {"127.0.0.1", "::1"};
    return spec;
}

TestCert make_self_signed(const CertSpec& spec) {
    return build(spec, nullptr);
}

TestCert make_signed(const CertSpec& spec, const TestCert& issuer) {
    return build(spec, &issuer);
}

TestCert make_ca(const std::string& common_name, std::int64_t not_after_offset) {
    CertSpec spec;
    spec.subject = {{"O", "Sonde Test"}, {"CN", common_name}};
    spec.is_ca = true;
    spec.not_after_offset = not_after_offset;
    return build(spec, nullptr);
}

TestCert make_intermediate(const std::string& common_name, const TestCert& issuer,
                           std::int64_t not_after_offset) {
    CertSpec spec;
    spec.subject = {{"O", "Sonde Test"}, {"CN", common_name}};
    spec.is_ca = true;
    spec.not_after_offset = not_after_offset;
    return build(spec, &issuer);
}

TempFile::TempFile(const std::string& content, const std::string& suffix) {
    static std::atomic<unsigned> counter{0};
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/sonde-test-" +
            std::to_string(::getpid()) + "-" + std::to_string(counter++) + suffix;
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
        throw std::runtime_error("test_certs: cannot write " + path_);
    }
}

TempFile::~TempFile() {
    (void)std::remove(path_.c_str());
}

}  // namespace sonde::test

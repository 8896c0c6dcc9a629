#include "tests/support/test_ocsp.hpp"

#include <memory>

#include <catch2/catch.hpp>
#include <openssl/ocsp.h>

namespace sonde::test {

std::string make_ocsp_response(const TestCert& leaf, const TestCert& issuer, const TestCert& signer,
                               TestOcspStatus status) {
    const net::X509Ptr leaf_x509 = leaf.x509();
    const net::X509Ptr issuer_x509 = issuer.x509();
    const net::X509Ptr signer_x509 = signer.x509();
    const net::EvpPkeyPtr signer_key = signer.private_key();
    REQUIRE((leaf_x509 && issuer_x509 && signer_x509 && signer_key));

    std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)> basic(OCSP_BASICRESP_new(),
                                                                          &OCSP_BASICRESP_free);
    OCSP_CERTID* id = OCSP_cert_to_id(nullptr, leaf_x509.get(), issuer_x509.get());
    REQUIRE((basic && id != nullptr));
    std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> this_update(
        X509_gmtime_adj(nullptr, -3600), &ASN1_TIME_free);
    std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next_update(
        X509_gmtime_adj(nullptr, 24 * 3600), &ASN1_TIME_free);
    const int code = status == TestOcspStatus::Good      ? V_OCSP_CERTSTATUS_GOOD
                     : status == TestOcspStatus::Revoked ? V_OCSP_CERTSTATUS_REVOKED
                                                         : V_OCSP_CERTSTATUS_UNKNOWN;
    const bool added =
        OCSP_basic_add1_status(
            basic.get(), id, code,
            code == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
            code == V_OCSP_CERTSTATUS_REVOKED ? this_update.get() : nullptr, this_update.get(),
            next_update.get()) != nullptr;
    OCSP_CERTID_free(id);
    REQUIRE(added);
    REQUIRE(OCSP_basic_sign(basic.get(), signer_x509.get(), signer_key.get(), EVP_sha256(), nullptr,
                            0) == 1);
    std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> response(
        OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()), &OCSP_RESPONSE_free);
    REQUIRE(response);
    unsigned char* der = nullptr;
    const int length = i2d_OCSP_RESPONSE(response.get(), &der);
    REQUIRE(length > 0);
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return out;
}

}  // namespace sonde::test

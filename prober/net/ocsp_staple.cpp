#include "prober/net/ocsp_staple.hpp"

#include <memory>
#include <vector>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "prober/net/tls_errors.hpp"

namespace sonde::net {
namespace {

struct OcspResponseDeleter {
    void operator()(OCSP_RESPONSE* response) const noexcept { OCSP_RESPONSE_free(response); }
};
struct OcspBasicDeleter {
    void operator()(OCSP_BASICRESP* basic) const noexcept { OCSP_BASICRESP_free(basic); }
};
struct OcspCertIdDeleter {
    void operator()(OCSP_CERTID* id) const noexcept { OCSP_CERTID_free(id); }
};
struct X509StackDeleter {
    // The stack borrows the session's certificates: free the stack only.
    void operator()(STACK_OF(X509) * certs) const noexcept { sk_X509_free(certs); }
};

// Clock skew allowed on thisUpdate/nextUpdate, in seconds (as `openssl ocsp -validity_period`).
constexpr long kOcspSkewSeconds = 300;

OcspStaple invalid(std::string why) {
    return {true, OcspStatus::Invalid, std::move(why)};
}

}  // namespace

OcspStaple read_ocsp_staple(const TlsSession& session) {
    const std::string der = session.stapled_ocsp_response();
    if (der.empty()) {
        return {};
    }
    ERR_clear_error();
    const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<OCSP_RESPONSE, OcspResponseDeleter> response(
        d2i_OCSP_RESPONSE(nullptr, &bytes, static_cast<long>(der.size())));
    if (!response) {
        return invalid("ocsp: malformed stapled response: " + drain_openssl_errors());
    }
    const int response_status = OCSP_response_status(response.get());
    if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        return invalid(std::string("ocsp: responder status ") +
                       OCSP_response_status_str(response_status));
    }
    std::unique_ptr<OCSP_BASICRESP, OcspBasicDeleter> basic(
        OCSP_response_get1_basic(response.get()));
    if (!basic) {
        return invalid("ocsp: no basic response: " + drain_openssl_errors());
    }

    // The leaf and its issuer, which the response's CertID names by hashes of both.
    std::vector<const X509*> chain = session.verified_chain();
    if (chain.empty()) {
        chain = session.peer_chain();
    }
    if (chain.empty()) {
        return invalid("ocsp: the peer sent no certificate");
    }
    X509* leaf = const_cast<X509*>(chain.front());
    X509* issuer = chain.size() > 1 ? const_cast<X509*>(chain[1]) : leaf;
    std::unique_ptr<OCSP_CERTID, OcspCertIdDeleter> id(OCSP_cert_to_id(nullptr, leaf, issuer));
    if (!id) {
        return invalid("ocsp: unable to identify the certificate: " + drain_openssl_errors());
    }

    if (X509_STORE* store = session.trust_store(); store != nullptr) {
        std::unique_ptr<STACK_OF(X509), X509StackDeleter> untrusted(sk_X509_new_null());
        if (!untrusted) {
            return invalid("ocsp: out of memory");
        }
        for (const X509* cert : session.peer_chain()) {
            (void)sk_X509_push(untrusted.get(), const_cast<X509*>(cert));
        }
        if (OCSP_basic_verify(basic.get(), untrusted.get(), store, 0) <= 0) {
            return invalid("ocsp: the stapled response does not verify: " + drain_openssl_errors());
        }
    }

    int status = -1;
    int reason = -1;
    ASN1_GENERALIZEDTIME* revoked_at = nullptr;
    ASN1_GENERALIZEDTIME* this_update = nullptr;
    ASN1_GENERALIZEDTIME* next_update = nullptr;
    if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at, &this_update,
                              &next_update) != 1) {
        return invalid("ocsp: the stapled response has no status for the leaf certificate");
    }
    if (OCSP_check_validity(this_update, next_update, kOcspSkewSeconds, -1) != 1) {
        (void)drain_openssl_errors();
        return invalid("ocsp: the stapled response is outside its validity period");
    }
    switch (status) {
        case V_OCSP_CERTSTATUS_GOOD:
            return {true, OcspStatus::Good, {}};
        case V_OCSP_CERTSTATUS_REVOKED:
            return {true, OcspStatus::Revoked,
                    std::string("ocsp: certificate revoked (") +
                        (reason >= 0 ? OCSP_crl_reason_str(reason) : "no reason given") + ")"};
        default:
            return {true, OcspStatus::Unknown, {}};
    }
}

}  // namespace sonde::net

#pragma once

// The OCSP response a TLS server stapled to its handshake (status_request), decoded and checked
// with OpenSSL's OCSP API: which status the responder gives the peer's leaf certificate.
//
// Pure function of a completed client TlsSession (that asked for the status with
// request_ocsp_status()); no I/O, no state.

#include <string>

#include "prober/net/tls_session.hpp"

namespace sonde::net {

// The numbers are the metric values of probe_tls_ocsp_status (README), the first three as
// OpenSSL's V_OCSP_CERTSTATUS_* and RFC 6960's CertStatus.
enum class OcspStatus {
    Invalid = -1,  // stapled but unusable: malformed, unsuccessful, signature not verified, no
                   // entry for the leaf, or outside its thisUpdate/nextUpdate window
    Good = 0,
    Revoked = 1,
    Unknown = 2,  // the responder does not know the certificate
};

struct OcspStaple {
    bool stapled = false;
    OcspStatus status = OcspStatus::Invalid;  // meaningful when stapled
    std::string detail;                       // why Invalid, or the revocation reason; "" otherwise
};

// With verification on (the session has a trust store) the response's signature is verified
// against the same roots as the peer, with the certificates the peer sent as intermediates;
// with insecure_skip_verify it is read unverified.
OcspStaple read_ocsp_staple(const TlsSession& session);

}  // namespace sonde::net

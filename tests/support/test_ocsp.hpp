#pragma once

// OCSP responses made in tests (as test_certs makes certificates), for servers that staple them
// (net::TlsServerOptions::ocsp_staple).

#include <string>

#include "tests/support/test_certs.hpp"

namespace sonde::test {

enum class TestOcspStatus { Good, Revoked, Unknown };

// A successful basic OCSP response, DER-encoded, giving `status` for `leaf` (issued by
// `issuer`), signed by `signer` (usually the issuer itself), valid from an hour ago for a day.
std::string make_ocsp_response(const TestCert& leaf, const TestCert& issuer, const TestCert& signer,
                               TestOcspStatus status);

}  // namespace sonde::test

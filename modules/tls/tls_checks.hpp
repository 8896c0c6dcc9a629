#pragma once

// The tls prober's checks on a completed handshake and the sonde metrics they produce (the
// exporter's certificate metrics come from modules/common/tls_metrics.hpp).
//
//   probe_tls_ocsp_stapled                 1 when the server stapled an OCSP response, else 0
//   probe_tls_ocsp_status                  only when stapled: 0 good, 1 revoked, 2 unknown,
//                                          -1 unusable (net::OcspStatus)
//   probe_tls_cert_expires_within_failed   only with fail_if_expires_within: 1 when a
//                                          certificate expires within the window, else 0

#include <ctime>
#include <optional>
#include <string>

#include <prometheus/registry.h>

#include "config/config.hpp"
#include "prober/net/ocsp_staple.hpp"
#include "prober/net/tls_session.hpp"

namespace sonde::modules::tls {

// The certificates fail_if_expires_within looks at: the verified chain, leaf to trust anchor
// (an intermediate or root about to expire breaks clients as surely as the leaf); the leaf
// alone when nothing was verified (insecure_skip_verify), since unverified extra certificates
// the server sends need not have anything to do with it. Returns why the check fails (the
// first certificate that expires before now + window), or nullopt when it passes.
std::optional<std::string> find_expiring_certificate(const net::TlsSession& session,
                                                     config::Duration window, std::time_t now);

void record_ocsp_metrics(prometheus::Registry& registry, const net::OcspStaple& staple);
void record_expiry_check_metric(prometheus::Registry& registry, bool failed);

}  // namespace sonde::modules::tls

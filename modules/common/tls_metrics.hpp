#pragma once

// The certificate and TLS metrics shared by the tcp and http probers, with blackbox_exporter's
// exact names, HELP texts, labels and values (prober/tls.go and its callers).

#include <prometheus/registry.h>

#include "prober/net/tls_session.hpp"

namespace sonde::modules {

// Registers, on the probe's registry, after a completed handshake:
//   probe_ssl_earliest_cert_expiry          min NotAfter over every certificate the peer sent
//   probe_ssl_last_chain_expiry_timestamp_seconds
//                                           min NotAfter of the verified chain (Go: the max over
//                                           verified chains; OpenSSL builds one), or Go's zero
//                                           time -62135596800 when nothing was verified
//                                           (insecure_skip_verify), as the exporter does (#653)
//   probe_ssl_last_chain_info{fingerprint_sha256,subject,issuer,subjectalternative,serialnumber}
//                                           1, describing the leaf
//   probe_tls_version_info{version}         1
//   probe_tls_cipher_info{cipher}           1, only with include_cipher (http does, tcp not)
// Calling it twice on one registry (tls plus a starttls step) updates the plain gauges and adds
// a second series to the info metrics, where Go would panic on the duplicate registration.
void record_tls_metrics(prometheus::Registry& registry, const net::TlsSession& session,
                        bool include_cipher);

}  // namespace sonde::modules

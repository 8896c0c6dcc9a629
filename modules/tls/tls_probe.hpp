#pragma once

// The tls prober (sonde extension, `prober: tls`): connect to `host:port`, optionally ask the
// server to switch to TLS with a STARTTLS dialog (smtp, imap, pop3, ftp, postgres), complete a
// TLS handshake, check the certificates and the stapled OCSP status, and close with
// close_notify. No application data is exchanged.
//
// Metrics: the exporter's certificate metrics exactly as the tcp prober emits them
// (modules/common/tls_metrics.hpp) plus probe_tls_cipher_info, probe_tls_duration_seconds{phase}
// (resolve, connect, starttls, handshake) and the checks of modules/tls/tls_checks.hpp.

#include <memory>

#include "modules/probe.hpp"

namespace sonde::modules::tls {

std::unique_ptr<ProbeSession> start_tls_probe(ProbeContext& ctx, ProbeDone done);

}  // namespace sonde::modules::tls

#pragma once

// The grpc prober: the standard health service's Check call (grpc.health.v1.Health/Check) over
// HTTP/2, plain (prior knowledge) or TLS (`tls: true`, ALPN h2), with `service` and
// `metadata`, and the exporter's metrics (reference §1.8, §2.7):
//   probe_grpc_duration_seconds{phase=resolve|check}, probe_grpc_ssl, probe_grpc_status_code,
//   probe_grpc_healthcheck_response{serving_status}, the certificate metrics on TLS, and the
//   address metrics of §2.2.
// Success: the call returned OK with SERVING.
//
// Unlike the exporter, whose Check call has no deadline (a stalled server holds it until the
// scrape gives up), the call is bounded by the probe's deadline: it is sent with grpc-timeout,
// and a call still open when the deadline passes reports DEADLINE_EXCEEDED (4).

#include <memory>

#include "modules/probe.hpp"

namespace sonde::modules::grpc {

std::unique_ptr<ProbeSession> start_grpc_probe(ProbeContext& ctx, ProbeDone done);

}  // namespace sonde::modules::grpc

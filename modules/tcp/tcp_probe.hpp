#pragma once

// The tcp prober: connect, optional TLS from the first byte, then the query_response dialog.
// Same behaviour and metrics as the exporter's ProbeTCP (reference §1.4, §2.4, §4.4).
// The unix prober is the same dialog over a unix domain stream socket whose path is the
// target: no resolution, no IP options (the exporter's ProbeUnix, reference §1.5, since 0.28).

#include <memory>

#include "modules/probe.hpp"

namespace sonde::modules::tcp {

std::unique_ptr<ProbeSession> start_tcp_probe(ProbeContext& ctx, ProbeDone done);
std::unique_ptr<ProbeSession> start_unix_probe(ProbeContext& ctx, ProbeDone done);

}  // namespace sonde::modules::tcp

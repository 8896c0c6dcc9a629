#pragma once

// The tcp prober: connect, optional TLS from the first byte, then the query_response dialog.
// Same behaviour and metrics as the exporter's ProbeTCP (reference §1.4, §2.4, §4.4).

#include <memory>

#include "modules/probe.hpp"

namespace sonde::modules::tcp {

std::unique_ptr<ProbeSession> start_tcp_probe(ProbeContext& ctx, ProbeDone done);

}  // namespace sonde::modules::tcp

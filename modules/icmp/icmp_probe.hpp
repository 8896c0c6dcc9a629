#pragma once

// The icmp prober: one echo request, one matching reply. Same options, metrics and log lines as
// the exporter's ProbeICMP (reference §1.7, §2.6, §4.6), on sockets shared through the loop's
// IcmpSocketPool (ctx.icmp_pool). Without a pool in the context the session opens a private
// one, which behaves as the exporter does: one socket per probe.

#include <memory>

#include "modules/probe.hpp"

namespace sonde::modules::icmp {

std::unique_ptr<ProbeSession> start_icmp_probe(ProbeContext& ctx, ProbeDone done);

}  // namespace sonde::modules::icmp

#pragma once

// The http prober: the exporter's ProbeHTTP (reference §1.3, §2.3, §4.1-4.3) as one session on
// the loop. It normalises the target to a URL, resolves its host with the exporter's address
// choice, then runs one HttpExchange per hop (following redirects, with a per-probe cookie jar)
// and evaluates the final response in the exporter's order, setting every probe_http_* metric.
//
// Ownership and callbacks follow modules/probe.hpp: the runner owns the session, destroying it
// cancels every lookup and connection at once, and done runs exactly once, never inside
// start_http_probe(). Loop affinity: the context's loop only.

#include <memory>
#include <string>

#include "config/config.hpp"
#include "modules/probe.hpp"
#include "prober/core/result.hpp"

namespace sonde::modules::http {

std::unique_ptr<ProbeSession> start_http_probe(ProbeContext& ctx, ProbeDone done);

// The /probe endpoint's pre-flight check for http modules: a `hostname` parameter that differs
// from a Host header configured in the module is refused before any probe starts, and the
// error is the exporter's 400 body ("host header defined both in module configuration (...)
// and with URL-parameter 'hostname' (...)"). Passes for an empty hostname.
[[nodiscard]] Result<void> check_http_hostname(const config::Module& module,
                                               const std::string& hostname);

}  // namespace sonde::modules::http

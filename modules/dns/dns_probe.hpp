#pragma once

// The dns prober: one query to the DNS server named by the target, over UDP, TCP or DNS over
// TLS, with sonde's own message codec. Same behaviour, metrics and log lines as the exporter's
// ProbeDNS (reference §1.6, §2.5, §4.5), including its runtime-only checks of
// transport_protocol, dns_over_tls, valid_rcodes and the validator regexes.
//
// Target: "host[:port]"; without a port (or for a bare IPv6 literal) the whole target is the
// host and the port is 53, or 853 with dns_over_tls.
//
// Phases (probe_dns_duration_seconds): resolve = the server name's lookup; connect = from the
// start of the exchange until the query could be sent (socket setup for UDP; TCP connect, and
// the TLS handshake for DoT); request = from sending the query to the matching reply. When the
// runner's deadline ends the probe first, request is the time waited so far, as the exporter's
// client reports its rtt on a read timeout.

#include <memory>

#include "modules/probe.hpp"

namespace sonde::modules::dns {

std::unique_ptr<ProbeSession> start_dns_probe(ProbeContext& ctx, ProbeDone done);

}  // namespace sonde::modules::dns

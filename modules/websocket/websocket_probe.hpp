#pragma once

// The websocket prober: resolve the ws:// or wss:// target's host, connect (TLS for wss), send
// the HTTP/1.1 Upgrade request, check the answer, then run query_response over messages.
// Same behaviour and metrics as the exporter's ProbeWebsocket (reference §1.9, §2.8, §2.2):
//  - probe_websocket_status_code (the handshake's HTTP status), probe_websocket_connection_
//    upgraded, probe_websocket_failed_due_to_regex, registered at start with 0;
//  - probe_websocket_duration_seconds{phase}: resolve (lookup), connect (TCP connect, plus the
//    TLS handshake for wss: the exporter has no tls phase here), processing (request sent to
//    the answer's head received), transfer (the query_response dialog, only when configured);
//  - the address metrics of §2.2 (probe_ip_protocol, probe_ip_addr_hash,
//    probe_dns_lookup_time_seconds). No TLS certificate metrics, as the exporter.
// query_response: `expect` takes the next whole message (fragments joined) and must match it,
// else the probe fails with probe_websocket_failed_due_to_regex 1 (a read error or a close
// from the server too, as the exporter); `send` goes as one text message, after ${1}
// expansion from this step's expect. Pings are answered with pongs at any time.
// Everything is bounded by the probe deadline, and frames and messages by a size limit.

#include <cstddef>
#include <memory>

#include "modules/probe.hpp"

namespace sonde::modules::websocket {

// The largest frame or message the prober reads; a server announcing more fails the probe at
// once. Messages a probe matches are small; this leaves room for a large first snapshot.
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024 * 1024;

std::unique_ptr<ProbeSession> start_websocket_probe(ProbeContext& ctx, ProbeDone done);

}  // namespace sonde::modules::websocket

#pragma once

// HttpMetrics: the http prober's metrics on the probe's registry, with the exporter's names,
// HELP texts, labels and "when present" rules (prober/http.go, reference §2.3):
//   always        probe_http_status_code, probe_http_content_length, probe_http_redirects,
//                 probe_http_uncompressed_body_length, probe_http_ssl, probe_http_version,
//                 probe_failed_due_to_regex (all 0 until set)
//   with CEL      probe_failed_due_to_cel
//   when used     probe_http_duration_seconds{phase}: "resolve" once the target is resolved
//                 locally (or a later hop resolved), connect/tls/processing/transfer at 0 once
//                 a request is attempted
//   when parsed   probe_http_last_modified_timestamp_seconds
// The TLS metrics of the final response come from modules/common/tls_metrics.hpp.
//
// Also the phase arithmetic: per-hop timestamps summed over redirects exactly as the exporter
// does. Owned by the probe session; the registry must outlive it. No loop affinity.

#include <cstdint>
#include <vector>

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "config/config.hpp"

namespace sonde::modules::http {

struct Verdict;

// One request/response round trip, as uv_hrtime() nanoseconds; 0 means "did not happen".
// As Go's httptrace in the exporter: for a hop that connects to an IP (no DNS), start and
// dns_done are both the moment the connect starts.
struct HopTimestamps {
    bool tls = false;  // the hop's URL is https
    std::uint64_t start = 0;
    std::uint64_t dns_done = 0;
    std::uint64_t connect_done = 0;
    std::uint64_t tls_start = 0;
    std::uint64_t tls_done = 0;
    std::uint64_t got_conn = 0;        // connected, and for https the handshake is done
    std::uint64_t response_start = 0;  // first response byte
    std::uint64_t end = 0;             // body fully read: only the final hop has it
};

struct PhaseSeconds {
    bool resolve_touched = false;  // a hop after the first one existed
    double resolve = 0;            // hops after the first only: the first comes from resolving
    double connect = 0;
    double tls = 0;
    double processing = 0;
    double transfer = 0;
};

// The exporter's sums, per hop i:
//   resolve    += dns_done - start                          (i > 0)
//   connect    += connect_done - dns_done (https)  or  got_conn - dns_done (http)
//   tls        += tls_done - tls_start (https)
//   processing += response_start - got_conn
//   transfer   += end - response_start
// where a hop stops contributing at the first of got_conn, response_start, end that is 0.
PhaseSeconds sum_phases(const std::vector<HopTimestamps>& hops);

class HttpMetrics {
public:
    HttpMetrics(prometheus::Registry& registry, const config::HttpProbe& cfg);

    // The first hop's target resolution time (chooseProtocol), also after a failed lookup.
    void add_resolve_seconds(double seconds);
    // Pre-initialises connect, tls, processing and transfer at 0; call before the first request.
    void request_attempted();
    // Adds the phase sums of every hop (call once, after the final response or failure).
    void record_phases(const std::vector<HopTimestamps>& hops);

    // The final response. content_length: the Content-Length header, -1 when unknown (chunked).
    void record_response(int status_code, std::int64_t content_length, bool over_tls);
    void set_redirects(int redirects);
    // Regex/CEL flags, body length, HTTP version and Last-Modified from evaluate_response().
    void record_verdict(const Verdict& verdict);

private:
    prometheus::Gauge& phase(const char* name);

    prometheus::Registry& registry_;
    prometheus::Family<prometheus::Gauge>* duration_ = nullptr;
    prometheus::Gauge& content_length_;
    prometheus::Gauge& uncompressed_body_length_;
    prometheus::Gauge& redirects_;
    prometheus::Gauge& ssl_;
    prometheus::Gauge& status_code_;
    prometheus::Gauge& version_;
    prometheus::Gauge& failed_due_to_regex_;
    prometheus::Gauge* failed_due_to_cel_ = nullptr;
};

}  // namespace sonde::modules::http

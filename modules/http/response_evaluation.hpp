#pragma once

// evaluate_response: every success check of the exporter on the final response, in its exact
// order (reference §4.3, prober/http.go ProbeHTTP), with the values the metrics need.
//
//   status -> header matchers (if still ok) -> decompressor -> body_size_limit -> body regexes
//   (if still ok) -> CEL (if still ok) -> drain the body (unless the redirect was not followed)
//   -> Last-Modified -> HTTP version -> fail_if_ssl / fail_if_not_ssl
//
// As in the exporter, the unconditional steps (decompressor, drain, version, fail_if_ssl)
// overwrite an earlier failure, so the last failing step names the reason.
// Pure function over a response received in full; no loop affinity.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "modules/http/response_checks.hpp"
#include "prober/core/probe_log.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::modules::http {

struct FinalResponse {
    int status_code = 0;
    std::string proto;  // "HTTP/1.1", as the status line says
    net::HttpHeaders headers;
    std::string_view raw_body;  // after transfer decoding (chunked), before content decoding
    bool over_tls = false;
    // Go's client returned this 3xx together with an error: follow_redirects is off or the
    // redirect limit was hit. The exporter then leaves the body unread (length 0).
    bool redirect_not_followed = false;
};

// One line the exporter would log while evaluating, in order.
struct LogLine {
    LogLevel level = LogLevel::Info;
    std::string msg;
    LogFields fields;
};

struct Verdict {
    bool success = false;
    std::string message;  // the failure reason, empty on success
    LogFields fields;     // logged with the failure reason
    std::vector<LogLine> log;
    bool failed_due_to_regex = false;  // probe_failed_due_to_regex
    bool failed_due_to_cel = false;    // probe_failed_due_to_cel (registered only with CEL)
    std::int64_t uncompressed_body_length = 0;  // probe_http_uncompressed_body_length
    std::optional<std::int64_t> last_modified;  // probe_http_last_modified_timestamp_seconds
    double http_version = 0;                    // probe_http_version
};

Verdict evaluate_response(const config::HttpProbe& cfg, const FinalResponse& response);

// Writes one LogLine to the probe log (ProbeLog takes an initializer_list of fields).
void write_log(ProbeLog& log, const LogLine& line);

}  // namespace sonde::modules::http

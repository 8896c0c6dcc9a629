#pragma once

// The exporter's success checks on the final response (prober/http.go), one function each, with
// the exporter's failure messages. response_evaluation.hpp runs them in the exporter's order.
// Pure functions, no loop affinity.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::modules::http {

using LogFields = std::vector<std::pair<std::string, std::string>>;

// The outcome of one check: pass, or the message the exporter fails the probe with (its
// ProbeFailure text) and the key/value pairs logged with it.
struct CheckResult {
    bool ok = true;
    std::string message;
    LogFields fields;

    static CheckResult pass() { return {}; }
    static CheckResult fail(std::string message, LogFields fields = {}) {
        return {false, std::move(message), std::move(fields)};
    }
};

// valid_status_codes, or 200..299 when empty.
//   "Invalid HTTP response status code" {status_code}           (with a list)
//   "Invalid HTTP response status code, wanted 2xx" {status_code}
CheckResult check_status(const config::HttpProbe& cfg, int status_code);

// fail_if_header_matches then fail_if_header_not_matches, each in order, the first failure
// winning. Header names are canonicalised; every value of the header is tested, unanchored.
//   "Missing required header" {header}                     (absent and not allow_missing)
//   "Header matched regular expression" {header, regexp, value_count}
//   "Header did not match regular expression" {header, regexp, value_count}
// A header sent with an empty value is present.
CheckResult check_headers(const config::HttpProbe& cfg, const net::HttpHeaders& headers);

// fail_if_body_matches_regexp then fail_if_body_not_matches_regexp over the whole body
// (RE2, unanchored: ^ and $ anchor to the whole text unless the pattern says (?m)).
//   "Body matched regular expression" {regexp}
//   "Body did not match regular expression" {regexp}
CheckResult check_body(const config::HttpProbe& cfg, std::string_view body);

// Whether fail_if_body_json_(not_)matches_cel is configured.
bool has_cel(const config::HttpProbe& cfg);

// sonde has no CEL evaluator yet: a configured CEL check always fails, saying so, rather than
// passing silently. "CEL is not supported by sonde yet" {expression}
CheckResult check_cel(const config::HttpProbe& cfg);

// valid_http_versions: exact strings ("HTTP/1.1", "HTTP/2.0"; "HTTP/2" never matches).
//   "Invalid HTTP version number" {version}
CheckResult check_http_version(const config::HttpProbe& cfg, std::string_view proto);

// fail_if_ssl (always) and fail_if_not_ssl (only when the probe is still successful).
//   "Final request was over SSL" / "Final request was not over SSL"
CheckResult check_tls(const config::HttpProbe& cfg, bool over_tls, bool success_so_far);

// probe_http_version: strconv.ParseFloat of the proto without "HTTP/" ("HTTP/1.1" -> 1.1,
// "HTTP/2.0" -> 2); nullopt when that is not a number (the gauge then stays 0).
std::optional<double> http_version_number(std::string_view proto);

}  // namespace sonde::modules::http

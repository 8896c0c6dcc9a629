#include "modules/http/http_metrics.hpp"

#include "modules/http/response_checks.hpp"
#include "modules/http/response_evaluation.hpp"

namespace sonde::modules::http {
namespace {

prometheus::Gauge& gauge(prometheus::Registry& registry, const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

double seconds_between(std::uint64_t from, std::uint64_t to) {
    return static_cast<double>(static_cast<std::int64_t>(to - from)) / 1e9;
}

}  // namespace

PhaseSeconds sum_phases(const std::vector<HopTimestamps>& hops) {
    PhaseSeconds sum;
    for (std::size_t i = 0; i < hops.size(); ++i) {
        const HopTimestamps& hop = hops[i];
        if (i != 0) {
            sum.resolve_touched = true;
            sum.resolve += seconds_between(hop.start, hop.dns_done);
        }
        if (hop.got_conn == 0) {
            continue;
        }
        if (hop.tls) {
            sum.connect += seconds_between(hop.dns_done, hop.connect_done);
            sum.tls += seconds_between(hop.tls_start, hop.tls_done);
        } else {
            sum.connect += seconds_between(hop.dns_done, hop.got_conn);
        }
        if (hop.response_start == 0) {
            continue;
        }
        sum.processing += seconds_between(hop.got_conn, hop.response_start);
        if (hop.end == 0) {
            continue;
        }
        sum.transfer += seconds_between(hop.response_start, hop.end);
    }
    return sum;
}

HttpMetrics::HttpMetrics(prometheus::Registry& registry, const config::HttpProbe& cfg)
    : registry_(registry),
      content_length_(
          gauge(registry, "probe_http_content_length", "Length of http content response")),
      uncompressed_body_length_(gauge(registry, "probe_http_uncompressed_body_length",
                                      "Length of uncompressed response body")),
      redirects_(gauge(registry, "probe_http_redirects", "The number of redirects")),
      ssl_(gauge(registry, "probe_http_ssl", "Indicates if SSL was used for the final redirect")),
      status_code_(gauge(registry, "probe_http_status_code", "Response HTTP status code")),
      version_(gauge(registry, "probe_http_version",
                     "Returns the version of HTTP of the probe response")),
      failed_due_to_regex_(
          gauge(registry, "probe_failed_due_to_regex", "Indicates if probe failed due to regex")) {
    if (has_cel(cfg)) {
        failed_due_to_cel_ = &gauge(registry, "probe_failed_due_to_cel",
                                    "Indicates if probe failed due to CEL expression not matching");
    }
}

prometheus::Gauge& HttpMetrics::phase(const char* name) {
    // Registered on first use: Go exposes a vector without children not at all.
    if (duration_ == nullptr) {
        duration_ = &prometheus::BuildGauge()
                         .Name("probe_http_duration_seconds")
                         .Help("Duration of http request by phase, summed over all redirects")
                         .Register(registry_);
    }
    return duration_->Add({{"phase", name}});
}

void HttpMetrics::add_resolve_seconds(double seconds) {
    phase("resolve").Increment(seconds);
}

void HttpMetrics::request_attempted() {
    for (const char* name : {"connect", "tls", "processing", "transfer"}) {
        phase(name);
    }
}

void HttpMetrics::record_phases(const std::vector<HopTimestamps>& hops) {
    const PhaseSeconds sum = sum_phases(hops);
    if (sum.resolve_touched) {
        phase("resolve").Increment(sum.resolve);
    }
    phase("connect").Increment(sum.connect);
    phase("tls").Increment(sum.tls);
    phase("processing").Increment(sum.processing);
    phase("transfer").Increment(sum.transfer);
}

void HttpMetrics::record_response(int status_code, std::int64_t content_length, bool over_tls) {
    status_code_.Set(status_code);
    content_length_.Set(static_cast<double>(content_length));
    ssl_.Set(over_tls ? 1 : 0);
}

void HttpMetrics::set_redirects(int redirects) {
    redirects_.Set(redirects);
}

void HttpMetrics::record_verdict(const Verdict& verdict) {
    failed_due_to_regex_.Set(verdict.failed_due_to_regex ? 1 : 0);
    if (failed_due_to_cel_ != nullptr) {
        failed_due_to_cel_->Set(verdict.failed_due_to_cel ? 1 : 0);
    }
    uncompressed_body_length_.Set(static_cast<double>(verdict.uncompressed_body_length));
    version_.Set(verdict.http_version);
    if (verdict.last_modified) {
        gauge(registry_, "probe_http_last_modified_timestamp_seconds",
              "Returns the Last-Modified HTTP response header in unixtime")
            .Set(static_cast<double>(*verdict.last_modified));
    }
}

}  // namespace sonde::modules::http

#include "modules/http/http_metrics.hpp"

#include <catch2/catch.hpp>

#include "modules/http/response_evaluation.hpp"
#include "tests/support/metric_value.hpp"

namespace sonde::modules::http {
namespace {

using sonde::test::metric_help;
using sonde::test::metric_label_sets;
using sonde::test::metric_value;

constexpr std::uint64_t kMs = 1000000;

TEST_CASE("always-present http metrics start at 0 with the exporter's HELP", "[unit][http]") {
    prometheus::Registry registry;
    const HttpMetrics metrics(registry, {});
    for (const char* name : {"probe_http_status_code", "probe_http_content_length",
                             "probe_http_uncompressed_body_length", "probe_http_redirects",
                             "probe_http_ssl", "probe_http_version", "probe_failed_due_to_regex"}) {
        CAPTURE(name);
        CHECK(metric_value(registry, name) == 0.0);
    }
    CHECK(metric_help(registry, "probe_http_content_length") == "Length of http content response");
    CHECK(metric_help(registry, "probe_http_ssl") ==
          "Indicates if SSL was used for the final redirect");
    CHECK(metric_help(registry, "probe_failed_due_to_regex") ==
          "Indicates if probe failed due to regex");
    CHECK_FALSE(metric_value(registry, "probe_failed_due_to_cel").has_value());
    CHECK(metric_label_sets(registry, "probe_http_duration_seconds").empty());
    CHECK_FALSE(metric_value(registry, "probe_http_last_modified_timestamp_seconds").has_value());
}

TEST_CASE("probe_failed_due_to_cel only with a CEL option", "[unit][http]") {
    prometheus::Registry registry;
    config::HttpProbe cfg;
    cfg.fail_if_body_json_matches_cel = "true";
    HttpMetrics metrics(registry, cfg);
    CHECK(metric_value(registry, "probe_failed_due_to_cel") == 0.0);
    CHECK(metric_help(registry, "probe_failed_due_to_cel") ==
          "Indicates if probe failed due to CEL expression not matching");
    Verdict verdict;
    verdict.failed_due_to_cel = true;
    metrics.record_verdict(verdict);
    CHECK(metric_value(registry, "probe_failed_due_to_cel") == 1.0);
}

TEST_CASE("duration phases: resolve first, the others once a request is attempted",
          "[unit][http]") {
    prometheus::Registry registry;
    HttpMetrics metrics(registry, {});
    metrics.add_resolve_seconds(0.25);
    CHECK(metric_label_sets(registry, "probe_http_duration_seconds").size() == 1);
    CHECK(metric_value(registry, "probe_http_duration_seconds", {{"phase", "resolve"}}) == 0.25);
    metrics.request_attempted();
    CHECK(metric_label_sets(registry, "probe_http_duration_seconds").size() == 5);
    for (const char* phase : {"connect", "tls", "processing", "transfer"}) {
        CHECK(metric_value(registry, "probe_http_duration_seconds", {{"phase", phase}}) == 0.0);
    }
    CHECK(metric_help(registry, "probe_http_duration_seconds") ==
          "Duration of http request by phase, summed over all redirects");
}

TEST_CASE("phase arithmetic for a 2-hop redirect (TestHTTPPhases)", "[unit][http]") {
    // Hop 0: plain http to the resolved IP, redirected (no end). Hop 1: https to a name.
    HopTimestamps first;
    first.start = 100 * kMs;
    first.dns_done = 100 * kMs;
    first.got_conn = 110 * kMs;
    first.response_start = 140 * kMs;
    HopTimestamps second;
    second.tls = true;
    second.start = 150 * kMs;
    second.dns_done = 155 * kMs;
    second.connect_done = 165 * kMs;
    second.tls_start = 165 * kMs;
    second.tls_done = 185 * kMs;
    second.got_conn = 186 * kMs;
    second.response_start = 226 * kMs;
    second.end = 236 * kMs;

    const PhaseSeconds sum = sum_phases({first, second});
    CHECK(sum.resolve_touched);
    CHECK(sum.resolve == Approx(0.005));
    CHECK(sum.connect == Approx(0.010 + 0.010));
    CHECK(sum.tls == Approx(0.020));
    CHECK(sum.processing == Approx(0.030 + 0.040));
    CHECK(sum.transfer == Approx(0.010));

    prometheus::Registry registry;
    HttpMetrics metrics(registry, {});
    metrics.add_resolve_seconds(0.001);
    metrics.request_attempted();
    metrics.record_phases({first, second});
    CHECK(*metric_value(registry, "probe_http_duration_seconds", {{"phase", "resolve"}}) ==
          Approx(0.006));
    CHECK(*metric_value(registry, "probe_http_duration_seconds", {{"phase", "connect"}}) ==
          Approx(0.020));
    CHECK(*metric_value(registry, "probe_http_duration_seconds", {{"phase", "tls"}}) ==
          Approx(0.020));
    CHECK(*metric_value(registry, "probe_http_duration_seconds", {{"phase", "processing"}}) ==
          Approx(0.070));
    CHECK(*metric_value(registry, "probe_http_duration_seconds", {{"phase", "transfer"}}) ==
          Approx(0.010));
}

TEST_CASE("phase sums stop where a hop stopped", "[unit][http]") {
    HopTimestamps refused;  // connect failed: nothing but the resolve of a later hop
    refused.start = 10 * kMs;
    refused.dns_done = 10 * kMs;
    CHECK(sum_phases({refused}).connect == 0);
    CHECK_FALSE(sum_phases({refused}).resolve_touched);

    HopTimestamps no_response;
    no_response.start = 0;
    no_response.dns_done = 0;
    no_response.got_conn = 5 * kMs;
    const PhaseSeconds sum = sum_phases({no_response});
    CHECK(sum.connect == Approx(0.005));
    CHECK(sum.processing == 0);
}

TEST_CASE("final response and verdict values", "[unit][http]") {
    prometheus::Registry registry;
    HttpMetrics metrics(registry, {});
    metrics.record_response(302, -1, true);
    metrics.set_redirects(11);
    Verdict verdict;
    verdict.failed_due_to_regex = true;
    verdict.uncompressed_body_length = 128;
    verdict.http_version = 1.1;
    verdict.last_modified = 784111777;
    metrics.record_verdict(verdict);
    CHECK(metric_value(registry, "probe_http_status_code") == 302.0);
    CHECK(metric_value(registry, "probe_http_content_length") == -1.0);
    CHECK(metric_value(registry, "probe_http_ssl") == 1.0);
    CHECK(metric_value(registry, "probe_http_redirects") == 11.0);
    CHECK(metric_value(registry, "probe_failed_due_to_regex") == 1.0);
    CHECK(metric_value(registry, "probe_http_uncompressed_body_length") == 128.0);
    CHECK(metric_value(registry, "probe_http_version") == 1.1);
    CHECK(metric_value(registry, "probe_http_last_modified_timestamp_seconds") == 784111777.0);
    CHECK(metric_help(registry, "probe_http_last_modified_timestamp_seconds") ==
          "Returns the Last-Modified HTTP response header in unixtime");
}

}  // namespace
}  // namespace sonde::modules::http

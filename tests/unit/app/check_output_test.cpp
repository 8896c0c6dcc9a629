// `sonde check` rendering: phases in probe order, facts with dates and versions, the reason of
// a failure, colour only when asked, the JSON object and the summary line.

#include "prober/app/check_output.hpp"

#include <catch2/catch.hpp>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

using sonde::app::CheckResult;

namespace {

void gauge(prometheus::Registry& registry, const std::string& name,
           const std::map<std::string, std::string>& labels, double value) {
    prometheus::BuildGauge().Name(name).Help(name).Register(registry).Add(labels).Set(value);
}

CheckResult https_result(bool success) {
    auto registry = std::make_shared<prometheus::Registry>();
    gauge(*registry, "probe_success", {}, success ? 1 : 0);
    gauge(*registry, "probe_duration_seconds", {}, 0.25);
    gauge(*registry, "probe_timeout_seconds", {}, 10);
    gauge(*registry, "probe_dns_lookup_time_seconds", {}, 0.001);
    gauge(*registry, "probe_ip_addr_hash", {}, 12345);
    auto& phases = prometheus::BuildGauge()
                       .Name("probe_http_duration_seconds")
                       .Help("by phase")
                       .Register(*registry);
    phases.Add({{"phase", "transfer"}}).Set(0.004);
    phases.Add({{"phase", "connect"}}).Set(0.002);
    phases.Add({{"phase", "resolve"}}).Set(0.001);
    phases.Add({{"phase", "tls"}}).Set(0.003);
    phases.Add({{"phase", "processing"}}).Set(0.1);
    gauge(*registry, "probe_http_status_code", {}, success ? 200 : 503);
    gauge(*registry, "probe_http_version", {}, 1.1);
    gauge(*registry, "probe_http_redirects", {}, 2);
    gauge(*registry, "probe_tls_version_info", {{"version", "TLS 1.3"}}, 1);
    // 2027-01-02 03:04:05 UTC
    gauge(*registry, "probe_ssl_earliest_cert_expiry", {}, 1798859045);
    CheckResult result;
    result.module = "http_2xx";
    result.target = "https://127.0.0.1:8443/";
    result.success = success;
    result.duration_seconds = 0.25;
    result.detail = success ? "" : "received HTTP status 503, not one of the valid status codes";
    result.registry = registry;
    return result;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("check phases come in probe order and facts skip the base metrics", "[check]") {
    const auto summary = sonde::app::summarise_registry(*https_result(true).registry);
    std::vector<std::string> names;
    for (const auto& phase : summary.phases) {
        names.push_back(phase.name);
    }
    CHECK(names == std::vector<std::string>{"resolve", "connect", "tls", "processing", "transfer"});
    for (const auto& fact : summary.facts) {
        CHECK(fact.name != "success");
        CHECK(fact.name != "duration_seconds");
        CHECK(fact.name != "timeout_seconds");
        CHECK(fact.name != "ip_addr_hash");
        CHECK(fact.name != "dns_lookup_time_seconds");
    }
}

TEST_CASE("a probe without its own resolve phase shows the DNS lookup time", "[check]") {
    prometheus::Registry registry;
    gauge(registry, "probe_dns_lookup_time_seconds", {}, 0.5);
    gauge(registry, "probe_ip_protocol", {}, 4);
    const auto summary = sonde::app::summarise_registry(registry);
    REQUIRE(summary.phases.size() == 1);
    CHECK(summary.phases[0].name == "resolve");
    CHECK(summary.phases[0].seconds == 0.5);
    REQUIRE(summary.facts.size() == 1);
    CHECK(summary.facts[0].name == "ip_protocol");
    CHECK(summary.facts[0].text == "4");
}

TEST_CASE("check text: OK line, phases, facts with dates and versions, no colour", "[check]") {
    const std::string text = sonde::app::render_check_text(https_result(true), false);
    CHECK(text.rfind("OK http_2xx https://127.0.0.1:8443/ in 250.000 ms\n", 0) == 0);
    CHECK(contains(text, "  phases:\n"));
    CHECK(contains(text, "processing"));
    CHECK(contains(text, "100.000 ms"));
    CHECK(contains(text, "http_status_code"));
    CHECK(contains(text, "200\n"));
    CHECK(contains(text, "1.1\n"));
    CHECK(contains(text, "version=TLS 1.3"));
    CHECK(contains(text, "ssl_earliest_cert_expiry"));
    CHECK(contains(text, "2027-01-02 03:04:05 UTC"));
    CHECK_FALSE(contains(text, "reason"));
    CHECK_FALSE(contains(text, "\033["));
    CHECK(text.find("resolve") < text.find("connect"));
    CHECK(text.find("connect") < text.find("transfer"));
}

TEST_CASE("check text: FAIL line with the reason, colour only when asked", "[check]") {
    const auto result = https_result(false);
    const std::string plain = sonde::app::render_check_text(result, false);
    CHECK(plain.rfind("FAIL http_2xx", 0) == 0);
    CHECK(contains(plain, "  reason: received HTTP status 503"));
    const std::string coloured = sonde::app::render_check_text(result, true);
    CHECK(coloured.rfind("\033[31mFAIL\033[0m", 0) == 0);
    CHECK(sonde::app::render_check_text(https_result(true), true).rfind("\033[32mOK\033[0m", 0) ==
          0);
}

TEST_CASE("check JSON has the same content as the text", "[check]") {
    const auto ok = sonde::app::check_json(https_result(true));
    CHECK(ok["module"] == "http_2xx");
    CHECK(ok["target"] == "https://127.0.0.1:8443/");
    CHECK(ok["success"] == true);
    CHECK(ok["duration_seconds"] == 0.25);
    CHECK(ok["phases"]["connect"] == 0.002);
    CHECK(ok["facts"]["http_status_code"] == 200);
    CHECK(ok["facts"]["tls_version_info"] == "version=TLS 1.3");
    CHECK(ok["facts"]["ssl_earliest_cert_expiry"] == "2027-01-02 03:04:05 UTC");
    CHECK_FALSE(ok.contains("reason"));
    const auto failed = sonde::app::check_json(https_result(false));
    CHECK(failed["success"] == false);
    CHECK(failed["reason"] == "received HTTP status 503, not one of the valid status codes");
}

TEST_CASE("check summary line counts targets, probes and failures", "[check]") {
    CHECK(sonde::app::render_check_summary(3, 9, 1) ==
          "3 targets, 9 probes, 8 succeeded, 1 failed");
    CHECK(sonde::app::render_check_summary(1, 1, 0) == "1 target, 1 probe, 1 succeeded, 0 failed");
}

TEST_CASE("check result without a registry still renders", "[check]") {
    CheckResult result;
    result.module = "tcp_connect";
    result.target = "127.0.0.1:1";
    result.detail = "refused";
    const std::string text = sonde::app::render_check_text(result, false);
    CHECK(text == "FAIL tcp_connect 127.0.0.1:1 in 0.000 ms\n  reason: refused\n");
}

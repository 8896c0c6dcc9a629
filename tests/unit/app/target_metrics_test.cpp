// Scheduled targets' series: the last result's blackbox metrics with the target's labels, the
// collision rule, the cumulative series, and staleness.

#include "prober/app/target_metrics.hpp"

#include <algorithm>

#include <catch2/catch.hpp>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "prober/app/metrics_text.hpp"
#include "tests/support/metrics_parse.hpp"

using sonde::app::FamilyTable;
using sonde::app::TargetRecord;
using sonde::modules::FailureKind;

namespace {

std::shared_ptr<prometheus::Registry> probe_registry(double success) {
    auto registry = std::make_shared<prometheus::Registry>();
    prometheus::BuildGauge()
        .Name("probe_success")
        .Help("Displays whether or not the probe was a success")
        .Register(*registry)
        .Add({})
        .Set(success);
    auto& phases = prometheus::BuildGauge()
                       .Name("probe_http_duration_seconds")
                       .Help("Duration of http request by phase")
                       .Register(*registry);
    phases.Add({{"phase", "connect"}}).Set(0.25);
    // A probe metric with a label named like one of the target's identity labels.
    prometheus::BuildGauge()
        .Name("probe_tls_version_info")
        .Help("The TLS version used")
        .Register(*registry)
        .Add({{"version", "TLS 1.3"}})
        .Set(1);
    return registry;
}

sonde::test::Samples render(const sonde::discovery::Target& target, const TargetRecord& record,
                            bool fresh) {
    std::map<std::string, prometheus::MetricFamily> families;
    sonde::app::append_target_series(families, target, record, fresh);
    std::vector<prometheus::MetricFamily> list;
    for (auto& [name, family] : families) {
        list.push_back(std::move(family));
    }
    return sonde::test::parse_samples(sonde::app::render_families(std::move(list)));
}

const sonde::discovery::Target kTarget{
    "http_2xx",
    "https://web.shop.svc:443/",
    std::chrono::seconds(30),
    {{"namespace", "shop"}, {"kind", "Service"}, {"name", "web"}, {"version", "v2"}}};

// "name{...}" as parse_samples writes it: the target's labels plus `extra`, sorted by name.
std::string key(const std::string& name, std::map<std::string, std::string> extra = {},
                bool with_version = true) {
    std::map<std::string, std::string> labels = {{"kind", "Service"},
                                                 {"module", "http_2xx"},
                                                 {"name", "web"},
                                                 {"namespace", "shop"},
                                                 {"target", "https://web.shop.svc:443/"}};
    if (with_version) {
        labels["version"] = "v2";
    }
    for (auto& [k, v] : extra) {
        labels[k] = v;
    }
    std::string out = name + "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        out += (first ? "" : ",") + k + "=\"" + v + "\"";
        first = false;
    }
    return out + "}";
}

}  // namespace

TEST_CASE("a target's last result carries its identity labels", "[unit][scheduler]") {
    FamilyTable table;
    TargetRecord record;
    record.add_run(true, FailureKind::None, 0.3, 1764000000.5,
                   sonde::app::record_registry(*probe_registry(1), table));
    const auto samples = render(kTarget, record, true);

    CHECK(samples.at(key("probe_success")) == 1);
    CHECK(samples.at(key("probe_http_duration_seconds", {{"phase", "connect"}})) == 0.25);
    // The probe metric's own `version` wins over the identity label of the same name.
    CHECK(samples.at(key("probe_tls_version_info", {{"version", "TLS 1.3"}})) == 1);
    CHECK(samples.count(key("probe_tls_version_info")) == 0);

    CHECK(samples.at(key("sonde_target_probes_total", {{"result", "success"}})) == 1);
    CHECK(samples.at(key("sonde_target_probes_total", {{"result", "failure"}})) == 0);
    CHECK(samples.at(key("sonde_target_last_run_timestamp_seconds")) == 1764000000.5);
    CHECK(samples.at(key("sonde_target_probe_duration_seconds_bucket", {{"le", "0.25"}})) == 0);
    CHECK(samples.at(key("sonde_target_probe_duration_seconds_bucket", {{"le", "0.5"}})) == 1);
    CHECK(samples.at(key("sonde_target_probe_duration_seconds_bucket", {{"le", "+Inf"}})) == 1);
    CHECK(samples.at(key("sonde_target_probe_duration_seconds_count")) == 1);
    CHECK(samples.count(key("sonde_target_failure_reason", {{"reason", "connect"}})) == 0);
}

TEST_CASE("failures count up and name their reason; stale results lose their probe metrics",
          "[unit][scheduler]") {
    FamilyTable table;
    TargetRecord record;
    record.add_run(true, FailureKind::None, 0.01, 100,
                   sonde::app::record_registry(*probe_registry(1), table));
    record.add_run(false, FailureKind::Connect, 2.0, 130,
                   sonde::app::record_registry(*probe_registry(0), table));
    // Both runs share one interned family per metric name.
    CHECK(table.size() == 3);

    const auto fresh = render(kTarget, record, true);
    CHECK(fresh.at(key("probe_success")) == 0);
    CHECK(fresh.at(key("sonde_target_probes_total", {{"result", "success"}})) == 1);
    CHECK(fresh.at(key("sonde_target_probes_total", {{"result", "failure"}})) == 1);
    CHECK(fresh.at(key("sonde_target_failure_reason", {{"reason", "connect"}})) == 1);
    CHECK(fresh.at(key("sonde_target_probe_duration_seconds_bucket", {{"le", "0.01"}})) == 1);
    CHECK(fresh.at(key("sonde_target_probe_duration_seconds_bucket", {{"le", "2.5"}})) == 2);
    CHECK(fresh.at(key("sonde_target_probe_duration_seconds_sum")) == Approx(2.01));

    // Stale: no probe_success at all (never a stale 1), the cumulative series stay.
    const auto stale = render(kTarget, record, false);
    CHECK(stale.count(key("probe_success")) == 0);
    CHECK(stale.count(key("sonde_target_failure_reason", {{"reason", "connect"}})) == 0);
    CHECK(stale.at(key("sonde_target_probes_total", {{"result", "failure"}})) == 1);
    CHECK(stale.at(key("sonde_target_last_run_timestamp_seconds")) == 130);
}

TEST_CASE("a target that never ran has no series", "[unit][scheduler]") {
    CHECK(render(kTarget, TargetRecord{}, true).empty());
}

namespace {

// What append_target_lines() writes for these targets, family by family, as /metrics does.
std::string render_lines(
    const FamilyTable& table,
    const std::vector<std::pair<sonde::discovery::Target, TargetRecord>>& targets, bool fresh) {
    std::vector<std::string> names = table.names();
    names.insert(names.end(), sonde::app::kTargetFamilyNames.begin(),
                 sonde::app::kTargetFamilyNames.end());
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& name : names) {
        sonde::app::FamilySelector family;
        family.name = name;
        const auto own = std::find(sonde::app::kTargetFamilyNames.begin(),
                                   sonde::app::kTargetFamilyNames.end(), name);
        if (own != sonde::app::kTargetFamilyNames.end()) {
            family.own = static_cast<int>(own - sonde::app::kTargetFamilyNames.begin());
        } else {
            family.name_id = static_cast<std::uint32_t>(table.name_id(name));
        }
        bool header = false;
        for (const auto& [target, record] : targets) {
            sonde::app::append_target_lines(out, family, target, record, fresh, header);
        }
    }
    return out;
}

// The reference: prometheus-cpp families through TextSerializer.
std::string render_reference(
    const std::vector<std::pair<sonde::discovery::Target, TargetRecord>>& targets, bool fresh) {
    std::map<std::string, prometheus::MetricFamily> families;
    for (const auto& [target, record] : targets) {
        sonde::app::append_target_series(families, target, record, fresh);
    }
    std::vector<prometheus::MetricFamily> list;
    for (auto& [name, family] : families) {
        list.push_back(std::move(family));
    }
    return sonde::app::render_families(std::move(list));
}

}  // namespace

TEST_CASE("the text lines of targets equal the reference rendering byte for byte",
          "[unit][scheduler][metrics_text]") {
    FamilyTable table;
    TargetRecord ok;
    ok.add_run(true, FailureKind::None, 0.3, 1764000000.5,
               sonde::app::record_registry(*probe_registry(1), table));
    TargetRecord failing;
    failing.add_run(true, FailureKind::None, 0.004, 100,
                    sonde::app::record_registry(*probe_registry(1), table));
    failing.add_run(false, FailureKind::Timeout, 31.5, 1764000001.25,
                    sonde::app::record_registry(*probe_registry(0), table));
    sonde::discovery::Target odd{"tcp_connect",
                                 "10.0.0.1:22 \"x\" \\ y",
                                 std::chrono::seconds(5),
                                 {{"module", "shadowed? no: identity label named module"}}};
    const std::vector<std::pair<sonde::discovery::Target, TargetRecord>> targets = {
        {kTarget, ok}, {odd, failing}, {kTarget, TargetRecord{}}};
    for (bool fresh : {true, false}) {
        CHECK(render_lines(table, targets, fresh) == render_reference(targets, fresh));
    }
}

TEST_CASE("results of the same shape share it; each keeps only its values", "[unit][scheduler]") {
    FamilyTable table;
    auto a = sonde::app::record_registry(*probe_registry(1), table);
    auto b = sonde::app::record_registry(*probe_registry(0), table);
    REQUIRE(a.shape != nullptr);
    CHECK(a.shape == b.shape);
    CHECK(a.values.size() == a.shape->series.size());
    CHECK(a.values != b.values);

    // Another label value is another shape.
    auto other = std::make_shared<prometheus::Registry>();
    prometheus::BuildGauge()
        .Name("probe_http_duration_seconds")
        .Help("Duration of http request by phase")
        .Register(*other)
        .Add({{"phase", "tls"}})
        .Set(1);
    auto c = sonde::app::record_registry(*other, table);
    CHECK(c.shape != a.shape);
    CHECK(table.shapes() == 2);

    // An empty registry records no shape at all.
    CHECK(sonde::app::record_registry(prometheus::Registry{}, table).shape == nullptr);

    // Shapes nobody uses any more are dropped as the table grows.
    a = {};
    b = {};
    c = {};
    for (int i = 0; i < 200; ++i) {
        auto registry = std::make_shared<prometheus::Registry>();
        prometheus::BuildGauge()
            .Name("probe_x")
            .Help("x")
            .Register(*registry)
            .Add({{"i", std::to_string(i)}})
            .Set(1);
        (void)sonde::app::record_registry(*registry, table);
    }
    CHECK(table.shapes() < 200);
}

#include "prober/app/self_metrics.hpp"

#include <chrono>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "prober/app/metrics_text.hpp"
#include "prober/app/process_metrics.hpp"
#include "prober/app/version.hpp"

namespace sonde::app {

SelfMetrics::SelfMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
    probes_total_ =
        &prometheus::BuildCounter()
             .Name("sonde_probes_total")
             .Help("Probes finished, by module and result (success, failure or cancelled).")
             .Register(*registry_);
    probe_failures_total_ =
        &prometheus::BuildCounter()
             .Name("sonde_probe_failures_total")
             .Help(
                 "Failed probes by module and reason (resolve, connect, tls, timeout, "
                 "protocol, validation, internal, denied).")
             .Register(*registry_);
    inflight_ = &prometheus::BuildGauge()
                     .Name("sonde_inflight_probes")
                     .Help("Probes currently running.")
                     .Register(*registry_)
                     .Add({});
    prometheus::BuildGauge()
        .Name("sonde_build_info")
        .Help("A metric with a constant '1' value labeled by the version of sonde.")
        .Register(*registry_)
        .Add({{"version", kVersion}, {"revision", kRevision}})
        .Set(1);
    unknown_module_ = &prometheus::BuildCounter()
                           .Name("blackbox_module_unknown_total")
                           .Help("Count of unknown modules requested by probes")
                           .Register(*registry_)
                           .Add({});
    probe_denied_total_ = &prometheus::BuildCounter()
                               .Name("sonde_probe_denied_total")
                               .Help(
                                   "Probes the probe_policy refused a connection of, by reason "
                                   "(denied_host, host_not_allowed, denied_cidr, "
                                   "cidr_not_allowed).")
                               .Register(*registry_);
    reload_successful_ = &prometheus::BuildGauge()
                              .Name("blackbox_exporter_config_last_reload_successful")
                              .Help("Blackbox exporter config loaded successfully.")
                              .Register(*registry_)
                              .Add({});
    reload_success_timestamp_ =
        &prometheus::BuildGauge()
             .Name("blackbox_exporter_config_last_reload_success_timestamp_seconds")
             .Help("Timestamp of the last successful configuration reload.")
             .Register(*registry_)
             .Add({});
    sonde_reload_successful_ =
        &prometheus::BuildGauge()
             .Name("sonde_config_last_reload_successful")
             .Help(
                 "1 when the last config load (startup or reload) succeeded, 0 when it failed "
                 "and the previous config is still running.")
             .Register(*registry_)
             .Add({});
    reloads_total_ = &prometheus::BuildCounter()
                          .Name("sonde_config_reloads_total")
                          .Help(
                              "Config reloads (SIGHUP, /-/reload, auto-reload) by result "
                              "(success or failure).")
                          .Register(*registry_);
    reloads_total_->Add({{"result", "success"}});
    reloads_total_->Add({{"result", "failure"}});
    scheduling_lag_ =
        &prometheus::BuildHistogram()
             .Name("sonde_scheduler_lag_seconds")
             .Help(
                 "How late scheduled probes started against their planned time. A busy loop "
                 "shows here first.")
             .Register(*registry_)
             // Fine under 10 ms, where a healthy loop lives (the 5 ms objective is a bound),
             // coarse above, where only the order of magnitude of a stall matters.
             .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001,
                                                              0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                              0.5, 1, 5});
    loop_utilization_ = &prometheus::BuildGauge()
                             .Name("sonde_event_loop_utilization")
                             .Help(
                                 "Share of the last second the event loop spent working rather "
                                 "than waiting for events (0 to 1).")
                             .Register(*registry_)
                             .Add({});
    loop_idle_seconds_ = &prometheus::BuildCounter()
                              .Name("sonde_event_loop_idle_seconds_total")
                              .Help("Time the event loop spent waiting for events.")
                              .Register(*registry_)
                              .Add({});
}

SelfMetrics::~SelfMetrics() = default;

void SelfMetrics::scheduling_lag(double seconds) {
    scheduling_lag_->Observe(seconds);
}

void SelfMetrics::loop_sampled(double utilization, double idle_seconds_total) {
    loop_utilization_->Set(utilization);
    const double delta = idle_seconds_total - loop_idle_seconds_->Value();
    if (delta > 0) {
        loop_idle_seconds_->Increment(delta);
    }
}

void SelfMetrics::probe_started() {
    inflight_->Increment();
}

void SelfMetrics::probe_finished(const std::string& module_name, bool success,
                                 modules::FailureKind kind) {
    inflight_->Decrement();
    probes_total_->Add({{"module", module_name}, {"result", success ? "success" : "failure"}})
        .Increment();
    if (!success) {
        probe_failures_total_
            ->Add({{"module", module_name}, {"reason", modules::failure_kind_name(kind)}})
            .Increment();
    }
}

void SelfMetrics::probe_cancelled(const std::string& module_name) {
    inflight_->Decrement();
    probes_total_->Add({{"module", module_name}, {"result", "cancelled"}}).Increment();
}

void SelfMetrics::unknown_module() {
    unknown_module_->Increment();
}

void SelfMetrics::probe_denied(const std::string& reason) {
    probe_denied_total_->Add({{"reason", reason}}).Increment();
}

void SelfMetrics::config_reloaded(bool success, bool at_startup) {
    reload_successful_->Set(success ? 1 : 0);
    sonde_reload_successful_->Set(success ? 1 : 0);
    if (!at_startup) {
        reloads_total_->Add({{"result", success ? "success" : "failure"}}).Increment();
    }
    if (success) {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        reload_success_timestamp_->Set(
            std::chrono::duration_cast<std::chrono::duration<double>>(now).count());
    }
}

std::string SelfMetrics::render(std::map<std::string, prometheus::MetricFamily> extra) const {
    return render_families(collect(std::move(extra)));
}

std::vector<prometheus::MetricFamily> SelfMetrics::collect(
    std::map<std::string, prometheus::MetricFamily> extra) const {
    auto families = registry_->Collect();
    for (auto& [name, family] : extra) {
        families.push_back(std::move(family));
    }
    auto process = ProcessCollector().Collect();
    families.insert(families.end(), std::make_move_iterator(process.begin()),
                    std::make_move_iterator(process.end()));
    return families;
}

}  // namespace sonde::app

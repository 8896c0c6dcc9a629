#pragma once

// SelfMetrics: sonde's own metrics on /metrics. The exporter's self-metrics keep their names
// and meanings so existing alerts work (blackbox_exporter_config_last_reload_successful,
// ..._success_timestamp_seconds, blackbox_module_unknown_total); everything sonde adds is
// sonde_*; the standard process_* metrics come from a collector reading /proc.
//
// Owned by the App; used on the loop thread.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "modules/probe.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace sonde::app {

class SelfMetrics {
public:
    SelfMetrics();
    ~SelfMetrics();
    SelfMetrics(const SelfMetrics&) = delete;
    SelfMetrics& operator=(const SelfMetrics&) = delete;

    void probe_started();
    void probe_finished(const std::string& module_name, bool success, modules::FailureKind kind);
    // A probe abandoned before its end: its /probe client left, or sonde is stopping.
    void probe_cancelled(const std::string& module_name);
    void unknown_module();
    // A probe the probe policy refused a connection of; reason is deny_reason_label()'s.
    void probe_denied(const std::string& reason);
    // The outcome of a config load: the first at startup, then each reload (SIGHUP, /-/reload,
    // auto-reload), which sonde_config_reloads_total counts.
    void config_reloaded(bool success, bool at_startup = false);
    // How late a scheduled run started, against its planned time.
    void scheduling_lag(double seconds);
    // The share of the last sampling window the loop spent working, 0 to 1, and its idle total.
    void loop_sampled(double utilization, double idle_seconds_total);

    // The text of /metrics, with `extra` families (scheduled targets) merged in.
    std::string render(std::map<std::string, prometheus::MetricFamily> extra = {}) const;
    // The families of render(), unsorted, with `extra` appended.
    std::vector<prometheus::MetricFamily> collect(
        std::map<std::string, prometheus::MetricFamily> extra = {}) const;

private:
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter>* probes_total_ = nullptr;
    prometheus::Family<prometheus::Counter>* probe_failures_total_ = nullptr;
    prometheus::Gauge* inflight_ = nullptr;
    prometheus::Counter* unknown_module_ = nullptr;
    prometheus::Family<prometheus::Counter>* probe_denied_total_ = nullptr;
    prometheus::Gauge* reload_successful_ = nullptr;
    prometheus::Gauge* reload_success_timestamp_ = nullptr;
    prometheus::Gauge* sonde_reload_successful_ = nullptr;
    prometheus::Family<prometheus::Counter>* reloads_total_ = nullptr;
    prometheus::Histogram* scheduling_lag_ = nullptr;
    prometheus::Gauge* loop_utilization_ = nullptr;
    prometheus::Counter* loop_idle_seconds_ = nullptr;
};

}  // namespace sonde::app

#pragma once

// App: one running sonde. It wires the loop, resolver, config, exporter and signals together
// and owns them all; run() returns the process exit code.
//
// Config: the initial load happens in create() (a bad file is an error there); reloads
// (SIGHUP, POST /-/reload, --config.enable-auto-reload) swap a shared_ptr<const RuntimeConfig>
// so probes in flight keep the config they started with, and a failed reload keeps the old one.
// Shutdown (SIGTERM, SIGINT): stop listening, cancel probes in flight, close every handle, and
// close the loop; run() returns 0.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <uv.h>

#include "discovery/kubernetes/kubernetes_discovery.hpp"
#include "prober/app/exporter.hpp"
#include "prober/app/flags.hpp"
#include "prober/app/module_runtime.hpp"
#include "prober/app/probe_admission.hpp"
#include "prober/app/scheduler.hpp"
#include "prober/app/self_metrics.hpp"
#include "prober/app/web_auth.hpp"
#include "prober/core/logger.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/resolver.hpp"

namespace sonde::app {

// Loads the config named by the flags (or the built-in one when the default file is absent)
// and builds its runtime state. Used by startup, reloads and --config.check.
[[nodiscard]] Result<std::shared_ptr<const RuntimeConfig>> load_runtime(const Flags& flags,
                                                                        Logger& logger);

class App {
public:
    static Result<std::unique_ptr<App>> create(Flags flags, Logger& logger);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // Serves until SIGTERM/SIGINT or shutdown(); returns the exit code.
    int run();
    void shutdown();

    Result<void> reload();
    std::uint16_t bound_port() const { return exporter_->bound_port(); }
    const Scheduler& scheduler() const { return *scheduler_; }

private:
    App(Flags flags, Logger& logger);
    static void on_signal(uv_signal_t* handle, int signum) noexcept;
    static void on_auto_reload(uv_timer_t* timer) noexcept;
    static void on_loop_sample(uv_timer_t* timer) noexcept;
    // Raises the soft RLIMIT_NOFILE to the hard one and sets the descriptor budget of probes.
    void apply_fd_limit();
    void schedule_static_targets();
    // Starts, restarts or stops Kubernetes discovery to match the config; false (with the
    // reason logged) when the new discovery cannot start, leaving the running one in place.
    [[nodiscard]] Result<void> apply_discovery_config(const config::Config& config);
    void collect_discovery_metrics(std::map<std::string, prometheus::MetricFamily>& families) const;

    Flags flags_;
    Logger& logger_;
    Loop loop_;
    SelfMetrics metrics_;
    std::shared_ptr<const RuntimeConfig> runtime_;
    std::unique_ptr<net::Resolver> resolver_;
    // The bound on probes in flight, shared by the scheduler and /probe: outlives both.
    std::unique_ptr<ProbeAdmission> admission_;
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<discovery::kubernetes::KubernetesDiscovery> kubernetes_;
    // The discovery config kubernetes_ runs with, to restart it only when it changed.
    std::optional<config::KubernetesDiscoveryConfig> kubernetes_config_;
    std::set<std::string> kubernetes_modules_;
    std::unique_ptr<Exporter> exporter_;
    // --web.config.file: TLS, basic auth and headers of every endpoint (null when not given).
    std::shared_ptr<WebGate> web_gate_;
    UvHandle<uv_signal_t> sighup_;
    UvHandle<uv_signal_t> sigterm_;
    UvHandle<uv_signal_t> sigint_;
    UvHandle<uv_timer_t> auto_reload_;
    UvHandle<uv_timer_t> loop_sampler_;
    std::uint64_t sampled_at_ns_ = 0;
    std::uint64_t sampled_idle_ns_ = 0;
    bool stopping_ = false;
};

}  // namespace sonde::app

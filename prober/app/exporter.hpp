#pragma once

// Exporter: the HTTP endpoints of sonde, as blackbox_exporter's (reference §3.1):
// /probe, /metrics, /-/healthy, /-/reload, /config, /logs and the status page /, all under
// --web.route-prefix.
//
// Ownership: the App owns the Exporter; the Exporter owns the HTTP server and every /probe in
// flight. A /probe whose client disconnects is cancelled at once (its sockets close); stop()
// cancels all of them. Loop thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "modules/icmp/icmp_socket_pool.hpp"
#include "prober/app/flags.hpp"
#include "prober/app/metrics_text.hpp"
#include "prober/app/module_runtime.hpp"
#include "prober/app/probe_admission.hpp"
#include "prober/app/probe_history.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/app/self_metrics.hpp"
#include "prober/core/logger.hpp"
#include "prober/net/http_server.hpp"

namespace sonde::app {

class Exporter {
public:
    struct Hooks {
        // The current config; a reload swaps what this returns.
        std::function<std::shared_ptr<const RuntimeConfig>()> runtime;
        // Re-reads the config file; returns the reason on failure.
        std::function<Result<void>()> reload;
        // Families of the scheduler and of discovery (small), merged into /metrics; may be
        // empty.
        std::function<void(std::map<std::string, prometheus::MetricFamily>&)> scheduled_metrics;
        // The body of /sd (Prometheus HTTP service discovery); may be empty.
        std::function<std::string()> service_discovery;
        // The series of scheduled targets (many), rendered into /metrics a piece at a time;
        // may be empty.
        std::function<std::unique_ptr<SeriesSource>()> scheduled_series;
        // The bound on probes in flight shared with the scheduler; it must outlive the
        // exporter. Null: the exporter keeps its own, of --probe.max-concurrent slots.
        ProbeAdmission* admission = nullptr;
    };

    Exporter(Loop& loop, net::Resolver& resolver, const Flags& flags, Logger& logger,
             SelfMetrics& metrics, Hooks hooks);
    ~Exporter();
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;

    // Listens on every --web.listen-address.
    [[nodiscard]] Result<void> listen();
    std::uint16_t bound_port() const { return server_.bound_port(); }
    // For the App to put the web config's gate in front of every endpoint.
    net::HttpServer& server() { return server_; }

    // Stops listening, cancels every /probe in flight. No callback runs afterwards.
    void stop();

    std::size_t inflight() const { return inflight_.size(); }

private:
    struct InFlight {
        ProbeAdmission::Slot slot;  // declared first: released after the run is gone
        std::unique_ptr<ProbeRun> run;
        net::HttpResponder responder;
        bool debug = false;
        std::shared_ptr<const RuntimeConfig> runtime;
    };

    void handle(const net::HttpRequest& request, net::HttpResponder responder);
    void handle_probe(const net::HttpRequest& request, const net::QueryParams& params,
                      net::HttpResponder responder);
    void handle_logs(const net::QueryParams& params, net::HttpResponder& responder);
    void handle_reload(const net::HttpRequest& request, net::HttpResponder& responder);
    void handle_metrics(net::HttpResponder responder);
    void on_report(std::uint64_t id, ProbeReport report);
    void cancel(std::uint64_t id);
    std::string status_page() const;

    Loop& loop_;
    net::Resolver& resolver_;
    const Flags& flags_;
    Logger& logger_;
    SelfMetrics& metrics_;
    Hooks hooks_;
    std::string prefix_;
    ProbeHistory history_;
    std::uint64_t next_id_ = 0;
    // Shared by every ping of this exporter; declared before inflight_ so it outlives the runs.
    modules::icmp::IcmpSocketPool icmp_pool_;
    // Declared before inflight_, whose slots point into it.
    std::unique_ptr<ProbeAdmission> own_admission_;
    ProbeAdmission* admission_ = nullptr;
    std::map<std::uint64_t, InFlight> inflight_;
    net::HttpServer server_;
};

}  // namespace sonde::app

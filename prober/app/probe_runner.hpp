#pragma once

// ProbeRun: one probe in flight, from start to report. It owns the deadline, the per-run
// metrics registry, the probe log and the module session.
//
// The runner alone decides when a probe is over: the module's done callback, or the deadline
// timer, whichever comes first; on the deadline it destroys the session (which cancels
// everything it had in flight) and reports a timeout. It then records the exporter's base
// metrics (probe_success, probe_duration_seconds, probe_timeout_seconds) and calls `report`
// exactly once, on the loop, never synchronously inside start().
//
// Ownership: whoever started the run owns it; destroying it cancels the probe without a report.
// It may be destroyed from inside `report` through loop.defer_delete() only.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <uv.h>

#include "config/config.hpp"
#include "modules/common/dial_guard.hpp"
#include "modules/probe.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/probe_log.hpp"
#include "prober/core/uv_handle.hpp"

namespace prometheus {
class Registry;
}

namespace sonde::net {
class Resolver;
class TlsClientContext;
}  // namespace sonde::net

namespace sonde::modules::icmp {
class IcmpSocketPool;
}

namespace sonde::app {

struct ProbeReport {
    bool success = false;
    modules::FailureKind failure = modules::FailureKind::None;
    std::string detail;
    double duration_seconds = 0;
    std::shared_ptr<prometheus::Registry> registry;
    // The probe's log lines, for debug=true and /logs; formatted only when read (text()).
    ProbeLogLines log;
    // Set when the probe policy refused a connection of this probe (config/probe_policy.hpp).
    std::optional<modules::DialDenial> denied;
};

struct ProbeRequest {
    std::shared_ptr<const config::Config> config;  // kept alive for the whole run
    std::string module_name;
    std::string target;
    std::string hostname;
    double timeout_seconds = 0;
    std::shared_ptr<const net::TlsClientContext> tls;  // the module's TLS context, may be null
    // A scheduled probe: the config's probe_policy applies only if its `scheduled` says so.
    bool scheduled = false;
};

struct ProbeEnvironment {
    Loop& loop;
    net::Resolver& resolver;
    LogLevel prober_log_level = LogLevel::Info;  // --log.prober
    std::FILE* log_mirror = nullptr;             // stderr, or null for quiet tests
    // The loop's shared ICMP sockets (owned by the caller, outliving its runs); may be null.
    modules::icmp::IcmpSocketPool* icmp_pool = nullptr;
    bool log_json = false;  // --log.format=json: mirrored lines in JSON
};

class ProbeRun {
public:
    using Report = std::function<void(ProbeReport)>;

    static std::unique_ptr<ProbeRun> start(ProbeEnvironment env, ProbeRequest request,
                                           Report report);
    ~ProbeRun();
    ProbeRun(const ProbeRun&) = delete;
    ProbeRun& operator=(const ProbeRun&) = delete;

    const std::string& module_name() const { return request_.module_name; }
    const std::string& target() const { return request_.target; }

private:
    ProbeRun(ProbeEnvironment env, ProbeRequest request, Report report);
    void begin();
    void on_done(modules::ProbeOutcome outcome);
    static void on_deadline(uv_timer_t* timer) noexcept;
    void finish(modules::ProbeOutcome outcome);

    ProbeEnvironment env_;
    ProbeRequest request_;
    Report report_;
    const config::Module* module_ = nullptr;
    std::shared_ptr<prometheus::Registry> registry_;
    ProbeLog log_;
    std::uint64_t started_ns_ = 0;
    std::uint64_t deadline_ns_ = 0;              // uv_hrtime() at which the budget is spent
    std::unique_ptr<modules::DialGuard> guard_;  // outlives context_ and session_
    std::unique_ptr<modules::ProbeContext> context_;
    std::unique_ptr<modules::ProbeSession> session_;
    UvHandle<uv_timer_t> deadline_;
    bool finished_ = false;
    Alive alive_;
};

}  // namespace sonde::app

#include "prober/app/probe_runner.hpp"

#include <cmath>
#include <cstdio>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace sonde::app {
namespace {

std::string format_seconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    return text;
}

}  // namespace

std::unique_ptr<ProbeRun> ProbeRun::start(ProbeEnvironment env, ProbeRequest request,
                                          Report report) {
    std::unique_ptr<ProbeRun> run(new ProbeRun(env, std::move(request), std::move(report)));
    run->begin();
    return run;
}

ProbeRun::ProbeRun(ProbeEnvironment env, ProbeRequest request, Report report)
    : env_(env),
      request_(std::move(request)),
      report_(std::move(report)),
      registry_(std::make_shared<prometheus::Registry>()),
      // The buffer keeps every level, so debug=true and /logs always show the whole story;
      // --log.prober only filters what is mirrored to the process log.
      log_(request_.module_name, request_.target, LogLevel::Debug, env.log_mirror,
           env.prober_log_level, env.log_json) {
}

ProbeRun::~ProbeRun() {
    // The session goes first: it may still reference the context, registry and log.
    session_.reset();
}

void ProbeRun::begin() {
    started_ns_ = uv_hrtime();
    const auto it = request_.config->modules.find(request_.module_name);
    module_ = it == request_.config->modules.end() ? nullptr : &it->second;
    const char* prober = module_ != nullptr ? config::prober_name(module_->prober) : "unknown";
    // Debug, as in the exporter: at the default --log.prober=info only the outcome of each probe
    // reaches stderr, while debug=true and /logs still show this line.
    log_.debug("Beginning probe",
               {{"probe", prober}, {"timeout_seconds", format_seconds(request_.timeout_seconds)}});

    if (module_ == nullptr) {
        // The caller checks module names; this guards a config swapped under a stale name.
        env_.loop.post(alive_, [this] {
            finish(modules::ProbeOutcome::fail(modules::FailureKind::Internal, "unknown module"));
        });
        return;
    }
    const auto start_probe = modules::find_prober(module_->prober);

    const double timeout = std::max(request_.timeout_seconds, 0.0);
    const auto timeout_ns = static_cast<std::uint64_t>(std::llround(timeout * 1e9));
    const int rc =
        deadline_.init(this, [this](uv_timer_t* t) { return uv_timer_init(env_.loop.raw(), t); });
    if (rc != 0) {
        // Modules never time themselves out: without the deadline a stalled peer could hold
        // the probe forever, so it does not start.
        const std::string reason = "deadline timer: " + std::string(uv_strerror(rc));
        env_.loop.post(alive_, [this, reason] {
            finish(modules::ProbeOutcome::fail(modules::FailureKind::Internal, reason));
        });
        return;
    }
    // libuv counts timers from the loop's cached time, which can be a whole iteration old:
    // refresh it so the deadline is measured from now. Round up to whole milliseconds (libuv's
    // resolution) so a probe is never cut before its budget.
    uv_update_time(env_.loop.raw());
    deadline_ns_ = started_ns_ + timeout_ns;
    uv_timer_start(deadline_.get(), &ProbeRun::on_deadline, (timeout_ns + 999999) / 1000000, 0);
    net::Resolver* resolver = &env_.resolver;
    const auto& policy = request_.config->probe_policy;
    if (policy && (!request_.scheduled || policy->scheduled)) {
        // Every connection of the probe starts with a lookup through this guard.
        guard_ = std::make_unique<modules::DialGuard>(env_.loop, env_.resolver, policy, log_);
        resolver = guard_.get();
    }
    context_ = std::make_unique<modules::ProbeContext>(modules::ProbeContext{
        env_.loop, *resolver, *module_, request_.target, request_.hostname,
        started_ns_ + timeout_ns, *registry_, log_, request_.tls, env_.icmp_pool, guard_.get()});
    session_ = start_probe(*context_,
                           [this](modules::ProbeOutcome outcome) { on_done(std::move(outcome)); });
}

void ProbeRun::on_done(modules::ProbeOutcome outcome) {
    // Called from inside the session's own callback stack: the session must outlive this call,
    // so it is handed to the loop to delete later.
    env_.loop.defer_delete(std::move(session_));
    finish(std::move(outcome));
}

void ProbeRun::on_deadline(uv_timer_t* timer) noexcept {
    auto* self = owner_of<ProbeRun>(timer);
    if (self == nullptr || self->finished_) {
        return;
    }
    // libuv's timers run on its cached, coarse millisecond clock, which can reach the deadline
    // up to a millisecond before uv_hrtime() does: wait out the rest, so that a probe is never
    // cut before its budget.
    const std::uint64_t now = uv_hrtime();
    if (now < self->deadline_ns_) {
        uv_timer_start(timer, &ProbeRun::on_deadline, (self->deadline_ns_ - now + 999999) / 1000000,
                       0);
        return;
    }
    // The session is not on the stack here, so it can be destroyed at once; that cancels its
    // connections, lookups and timers.
    self->session_.reset();
    self->log_.error("Timeout reached",
                     {{"timeout_seconds", format_seconds(self->request_.timeout_seconds)}});
    self->finish(modules::ProbeOutcome::fail(
        modules::FailureKind::Timeout,
        "probe timed out after " + format_seconds(self->request_.timeout_seconds) + "s"));
}

void ProbeRun::finish(modules::ProbeOutcome outcome) {
    if (finished_) {
        return;
    }
    finished_ = true;
    deadline_.reset();
    const double duration = static_cast<double>(uv_hrtime() - started_ns_) / 1e9;

    auto gauge = [this](const char* name, const char* help, double value) {
        prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({}).Set(value);
    };
    gauge("probe_success", "Displays whether or not the probe was a success",
          outcome.success ? 1 : 0);
    gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds",
          duration);
    gauge("probe_timeout_seconds", "Returns how long the probe timeout is in seconds",
          request_.timeout_seconds);
    if (outcome.success) {
        log_.info("Probe succeeded", {{"duration_seconds", format_seconds(duration)}});
    } else {
        log_.error("Probe failed",
                   {{"duration_seconds", format_seconds(duration)}, {"reason", outcome.detail}});
    }

    ProbeReport report;
    report.success = outcome.success;
    report.failure = outcome.kind;
    report.detail = std::move(outcome.detail);
    report.duration_seconds = duration;
    report.registry = registry_;
    report.log = log_.take_lines();
    if (guard_) {
        report.denied = guard_->denial();
        if (report.denied && !report.success) {
            // The module saw a lookup with no address left: it is the policy that failed it.
            report.failure = modules::FailureKind::Denied;
        }
    }
    auto callback = std::move(report_);
    callback(std::move(report));  // last statement: the owner may now defer-delete this run
}

}  // namespace sonde::app

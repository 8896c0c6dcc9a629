#include "prober/app/app.hpp"

#include <algorithm>
#include <csignal>

#include <sys/stat.h>
#include <unistd.h>

#include "config/loader.hpp"
#include "discovery/static_targets.hpp"
#include "prober/app/metrics_text.hpp"
#include "prober/net/fd_budget.hpp"

namespace sonde::app {

Result<std::shared_ptr<const RuntimeConfig>> load_runtime(const Flags& flags, Logger& logger) {
    Result<config::LoadedConfig> loaded = unexpected("not loaded");
    struct stat info {};
    if (!flags.config_file_given && ::stat(flags.config_file.c_str(), &info) != 0) {
        logger.info("Config file not found; using the built-in modules",
                    {{"file", flags.config_file}});
        loaded = config::load_config_text(config::builtin_config_text(), "<built-in>");
    } else {
        loaded = config::load_config_file(flags.config_file);
    }
    if (!loaded) {
        return unexpected(loaded.error());
    }
    return build_runtime(loaded->config, std::move(loaded->warnings));
}

App::App(Flags flags, Logger& logger) : flags_(std::move(flags)), logger_(logger) {
}

App::~App() {
    // Owners first (their handles close), then the loop.
    exporter_.reset();
    kubernetes_.reset();
    scheduler_.reset();
    admission_.reset();
    resolver_.reset();
    sighup_.reset();
    sigterm_.reset();
    sigint_.reset();
    auto_reload_.reset();
    loop_sampler_.reset();
    if (loop_.close() != 0) {
        logger_.error("Event loop closed with handles still open");
    }
}

Result<std::unique_ptr<App>> App::create(Flags flags, Logger& logger) {
    std::unique_ptr<App> app(new App(std::move(flags), logger));
    auto runtime = load_runtime(app->flags_, logger);
    if (!runtime) {
        return unexpected("error loading config: " + runtime.error());
    }
    for (const auto& warning : (*runtime)->warnings) {
        logger.warn(warning);
    }
    app->runtime_ = *runtime;
    app->metrics_.config_reloaded(true, /*at_startup=*/true);
    logger.info("Loaded config file", {{"file", app->runtime_->config->source}});
    if (!app->flags_.web_config_file.empty()) {
        auto gate = WebGate::create(app->loop_, logger, app->flags_.web_config_file);
        if (!gate) {
            return unexpected("error loading web config: " + gate.error());
        }
        app->web_gate_ = std::move(*gate);
        logger.info(app->web_gate_->tls_enabled() ? "TLS is enabled." : "TLS is disabled.",
                    {{"web_config", app->flags_.web_config_file}});
    }

    app->apply_fd_limit();

    net::ResolverOptions resolver_options;
    resolver_options.servers = app->flags_.nameservers;
    auto resolver = net::Resolver::create(app->loop_, resolver_options);
    if (!resolver) {
        return unexpected("resolver: " + resolver.error());
    }
    app->resolver_ = std::move(*resolver);

    App* self = app.get();
    char hostname[256] = {};
    (void)::gethostname(hostname, sizeof hostname - 1);
    auto shard = resolve_shard(app->flags_.shard_index, app->flags_.shard_count, hostname);
    if (!shard) {
        return unexpected(shard.error());
    }
    // Scheduled probes are many and regular: their log lines reach stderr only when they fail,
    // unless --log.prober=debug asks for everything.
    const LogLevel scheduled_log_level =
        app->flags_.prober_log_level == LogLevel::Debug
            ? LogLevel::Debug
            : std::max(app->flags_.prober_log_level, LogLevel::Warn);
    app->admission_ =
        std::make_unique<ProbeAdmission>(app->flags_.probe_max_concurrent, app->loop_);
    Scheduler::Options scheduler_options{app->flags_.timeout_offset, *shard};
    scheduler_options.admission = app->admission_.get();
    app->scheduler_ = std::make_unique<Scheduler>(
        ProbeEnvironment{app->loop_, *app->resolver_, scheduled_log_level, logger.stream(), nullptr,
                         logger.json()},
        app->metrics_, scheduler_options, [self] { return self->runtime_; });
    app->schedule_static_targets();
    auto discovery = app->apply_discovery_config(*app->runtime_->config);
    if (!discovery) {
        return unexpected(discovery.error());
    }
    if (shard->count > 1) {
        logger.info("Sharding scheduled targets", {{"shard", std::to_string(shard->index)},
                                                   {"of", std::to_string(shard->count)}});
    }

    app->exporter_ = std::make_unique<Exporter>(
        app->loop_, *app->resolver_, app->flags_, logger, app->metrics_,
        Exporter::Hooks{[self] { return self->runtime_; }, [self] { return self->reload(); },
                        [self](std::map<std::string, prometheus::MetricFamily>& families) {
                            self->scheduler_->collect_summary(families);
                            self->collect_discovery_metrics(families);
                        },
                        [self] { return self->scheduler_->service_discovery_json(); },
                        [self] { return self->scheduler_->series(); }, self->admission_.get()});
    app->exporter_->server().set_gate(app->web_gate_);
    auto listening = app->exporter_->listen();
    if (!listening) {
        return unexpected(listening.error());
    }

    auto signal = [&](UvHandle<uv_signal_t>& handle, int signum) {
        (void)handle.init(self,
                          [&](uv_signal_t* h) { return uv_signal_init(self->loop_.raw(), h); });
        uv_signal_start(handle.get(), &App::on_signal, signum);
    };
    signal(app->sighup_, SIGHUP);
    signal(app->sigterm_, SIGTERM);
    signal(app->sigint_, SIGINT);
    if (app->flags_.config_auto_reload) {
        (void)app->auto_reload_.init(
            self, [&](uv_timer_t* t) { return uv_timer_init(self->loop_.raw(), t); });
        const std::uint64_t every = app->flags_.config_auto_reload_interval_seconds * 1000ULL;
        uv_timer_start(app->auto_reload_.get(), &App::on_auto_reload, every, every);
    }
    (void)app->loop_sampler_.init(
        self, [&](uv_timer_t* t) { return uv_timer_init(self->loop_.raw(), t); });
    uv_timer_start(app->loop_sampler_.get(), &App::on_loop_sample, 1000, 1000);
    // The sampler alone must not keep a stopping loop alive.
    uv_unref(app->loop_sampler_.as_handle());
    app->sampled_at_ns_ = uv_hrtime();
    app->sampled_idle_ns_ = app->loop_.idle_time_ns();
    return app;
}

void App::apply_fd_limit() {
    // As Go programs do: the soft limit only protects select() users, and sonde uses epoll.
    const net::FdLimit limit = net::raise_fd_limit();
    if (!limit.error.empty()) {
        logger_.warn("Could not raise the open files limit", {{"err", limit.error}});
    }
    if (limit.soft == 0) {
        return;
    }
    // Probes stop short of the limit, so that sonde's own endpoints always find a descriptor.
    const std::uint64_t ceiling = net::FdBudget::set_for_limit(limit.soft);
    logger_.info(
        limit.raised() ? "Raised the open files limit to the hard limit" : "Open files limit",
        {{"limit", std::to_string(limit.soft)},
         {"was", std::to_string(limit.soft_before)},
         {"kept_for_serving", std::to_string(ceiling == 0 ? 0 : limit.soft - ceiling)}});
    if (ceiling != 0 && flags_.probe_max_concurrent > ceiling) {
        logger_.warn(
            "--probe.max-concurrent allows more probes than there are descriptors for them; "
            "past that, probes fail with \"too many open files\"",
            {{"max_concurrent", std::to_string(flags_.probe_max_concurrent)},
             {"descriptors_for_probes", std::to_string(ceiling)}});
    }
}

void App::schedule_static_targets() {
    scheduler_->update("static", discovery::static_targets(*runtime_->config));
}

Result<void> App::apply_discovery_config(const config::Config& config) {
    const auto& wanted = config.discovery.kubernetes;
    std::set<std::string> modules;
    for (const auto& [name, module] : config.modules) {
        modules.insert(name);
    }
    if (wanted == kubernetes_config_ && modules == kubernetes_modules_) {
        return {};  // unchanged: the running discovery keeps its watches and its targets
    }
    if (!wanted) {
        kubernetes_.reset();
        kubernetes_config_.reset();
        scheduler_->update("kubernetes", {});
        return {};
    }
    discovery::kubernetes::KubernetesDiscoveryOptions options;
    options.config = *wanted;
    options.modules = modules;
    Scheduler* scheduler = scheduler_.get();
    auto created = discovery::kubernetes::KubernetesDiscovery::create(
        loop_, logger_, resolver_.get(), std::move(options),
        [scheduler](const discovery::TargetSet& targets) {
            scheduler->update("kubernetes", targets);
        });
    if (!created) {
        return unexpected("kubernetes discovery: " + created.error());
    }
    // The old discovery's targets stay scheduled until the new one has listed and hands over
    // its first set, so a restart of discovery does not interrupt probing.
    kubernetes_ = std::move(*created);
    kubernetes_config_ = wanted;
    kubernetes_modules_ = std::move(modules);
    kubernetes_->start();
    const auto& client = kubernetes_->client_config();
    const std::string api = client.scheme + "://" + client.authority();
    logger_.info("Kubernetes discovery started", {{"api", api}, {"from", client.source}});
    return {};
}

void App::collect_discovery_metrics(
    std::map<std::string, prometheus::MetricFamily>& families) const {
    if (!kubernetes_) {
        return;
    }
    const auto status = kubernetes_->status();
    // A family may get several samples (one per request kind): append to it.
    auto add = [&families](const char* name, const char* help, prometheus::MetricType type,
                           std::vector<prometheus::ClientMetric::Label> labels, double value) {
        auto sample = single_value_family(name, help, value, type, std::move(labels));
        if (auto it = families.find(name); it != families.end()) {
            it->second.metric.push_back(std::move(sample.metric.front()));
        } else {
            families.emplace(name, std::move(sample));
        }
    };
    using prometheus::MetricType;
    const prometheus::ClientMetric::Label source{"source", "kubernetes"};
    add("sonde_discovery_healthy",
        "1 when every list and watch of the source succeeded last time; the last known targets "
        "keep being probed either way.",
        MetricType::Gauge, {source}, status.healthy ? 1 : 0);
    add("sonde_discovery_last_sync_timestamp_seconds",
        "Unix time of the newest data the source received (list or watch event).",
        MetricType::Gauge, {source}, status.last_sync_seconds);
    struct Requests {
        const char* request;
        std::uint64_t total;
        std::uint64_t errors;
    };
    for (const Requests& r : {Requests{"list", status.list_requests, status.list_errors},
                              Requests{"watch", status.watch_requests, status.watch_errors}}) {
        add("sonde_discovery_requests_total", "Requests the source made to its API, by request.",
            MetricType::Counter, {source, {"request", r.request}}, static_cast<double>(r.total));
        add("sonde_discovery_request_errors_total", "Failed requests of the source, by request.",
            MetricType::Counter, {source, {"request", r.request}}, static_cast<double>(r.errors));
    }
    add("sonde_discovery_objects", "Objects the source knows, opted in or not.", MetricType::Gauge,
        {source}, static_cast<double>(status.objects));
    add("sonde_discovery_targets", "Targets the source currently yields.", MetricType::Gauge,
        {source}, static_cast<double>(status.targets));
}

void App::on_loop_sample(uv_timer_t* timer) noexcept {
    auto* self = owner_of<App>(timer);
    if (self == nullptr) {
        return;
    }
    const std::uint64_t now = uv_hrtime();
    const std::uint64_t idle = self->loop_.idle_time_ns();
    const std::uint64_t elapsed = now - self->sampled_at_ns_;
    const std::uint64_t idled = idle - self->sampled_idle_ns_;
    const double busy =
        elapsed == 0 ? 0 : 1.0 - static_cast<double>(idled) / static_cast<double>(elapsed);
    self->metrics_.loop_sampled(std::clamp(busy, 0.0, 1.0), static_cast<double>(idle) / 1e9);
    self->sampled_at_ns_ = now;
    self->sampled_idle_ns_ = idle;
}

int App::run() {
    loop_.run();
    // uv_run() returned: shutdown() closed what it owns. Destroy the remaining owners now and
    // close the loop here, so that a handle left open shows in the exit code, not only in the
    // log (the destructor finds the loop closed and has nothing left to do).
    exporter_.reset();
    kubernetes_.reset();
    scheduler_.reset();
    resolver_.reset();
    sighup_.reset();
    sigterm_.reset();
    sigint_.reset();
    auto_reload_.reset();
    loop_sampler_.reset();
    if (const int rc = loop_.close(); rc != 0) {
        logger_.error("Event loop closed with handles still open", {{"err", uv_err_name(rc)}});
        return 1;
    }
    return 0;
}

void App::shutdown() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    logger_.info("Shutting down");
    exporter_->stop();
    kubernetes_.reset();
    scheduler_->stop();
    loop_sampler_.reset();
    sighup_.reset();
    sigterm_.reset();
    sigint_.reset();
    auto_reload_.reset();
    resolver_.reset();
    // With every handle closed, uv_run() returns and run() hands back the exit code.
}

Result<void> App::reload() {
    auto runtime = load_runtime(flags_, logger_);
    if (!runtime) {
        metrics_.config_reloaded(false);
        logger_.error("Error reloading config", {{"err", runtime.error()}});
        return unexpected(runtime.error());
    }
    const bool unchanged =
        (*runtime)->config->sha256 == runtime_->config->sha256 && !runtime_->config->sha256.empty();
    // Discovery first: a new discovery config that cannot start (a kubeconfig gone missing)
    // fails the reload as a bad file does, and everything keeps running as it was.
    auto discovery = apply_discovery_config(*(*runtime)->config);
    if (!discovery) {
        metrics_.config_reloaded(false);
        logger_.error("Error reloading config", {{"err", discovery.error()}});
        return unexpected(discovery.error());
    }
    for (const auto& warning : (*runtime)->warnings) {
        logger_.warn(warning);
    }
    runtime_ = *runtime;
    metrics_.config_reloaded(true);
    schedule_static_targets();
    if (!unchanged) {
        logger_.info("Reloaded config file", {{"file", runtime_->config->source}});
    }
    return {};
}

void App::on_signal(uv_signal_t* handle, int signum) noexcept {
    auto* self = owner_of<App>(handle);
    if (self == nullptr) {
        return;
    }
    if (signum == SIGHUP) {
        (void)self->reload();
    } else {
        self->shutdown();
    }
}

void App::on_auto_reload(uv_timer_t* timer) noexcept {
    auto* self = owner_of<App>(timer);
    if (self == nullptr) {
        return;
    }
    // An unchanged file is a cheap no-op (same SHA-256), as in the exporter.
    (void)self->reload();
}

}  // namespace sonde::app

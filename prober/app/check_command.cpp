#include "prober/app/check_command.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <memory>

#include <unistd.h>
#include <uv.h>

#include "modules/icmp/icmp_socket_pool.hpp"
#include "prober/app/app.hpp"
#include "prober/app/check_output.hpp"
#include "prober/app/metrics_text.hpp"
#include "prober/app/module_runtime.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/core/logger.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/resolver.hpp"

namespace sonde::app {
namespace {

constexpr double kDefaultTimeoutSeconds = 10.0;

// Exporter flags that take a value, so that `--config.file F` does not read F as the module.
bool takes_value(const std::string& name) {
    static const std::array<const char*, 14> names = {
        "config.file",      "config.auto-reload-interval",
        "timeout-offset",   "shard.index",
        "shard.count",      "resolver.nameserver",
        "history.limit",    "web.listen-address",
        "web.route-prefix", "web.external-url",
        "log.level",        "log.prober",
        "log.format",       "web.config.file"};
    return std::find(names.begin(), names.end(), name) != names.end();
}

struct Job {
    std::string module;
    std::string target;
};

// Runs the jobs `repeat` times, concurrently within a round, and hands each round's results
// (in job order) to on_round. Stops the loop after the last round, or on SIGINT/SIGTERM, which
// cancels the probes in flight (their round is not reported) and sets interrupted().
class CheckRunner {
public:
    using OnRound = std::function<void(const std::vector<CheckResult>&)>;

    CheckRunner(Loop& loop, net::Resolver& resolver, modules::icmp::IcmpSocketPool& pool,
                std::shared_ptr<const RuntimeConfig> runtime, std::vector<Job> jobs,
                unsigned repeat, config::Duration interval, OnRound on_round,
                LogLevel prober_log_level, std::FILE* probe_log_mirror, bool probe_log_json)
        : loop_(loop),
          resolver_(resolver),
          pool_(pool),
          runtime_(std::move(runtime)),
          jobs_(std::move(jobs)),
          repeat_(repeat),
          interval_(interval),
          on_round_(std::move(on_round)),
          prober_log_level_(prober_log_level),
          probe_log_mirror_(probe_log_mirror),
          probe_log_json_(probe_log_json) {}

    ~CheckRunner() {
        runs_.clear();
        timer_.reset();
        sigint_.reset();
        sigterm_.reset();
    }
    CheckRunner(const CheckRunner&) = delete;
    CheckRunner& operator=(const CheckRunner&) = delete;

    Result<void> start() {
        int rc = timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.raw(), t); });
        for (auto* signal : {&sigint_, &sigterm_}) {
            if (rc == 0) {
                rc = signal->init(this,
                                  [&](uv_signal_t* h) { return uv_signal_init(loop_.raw(), h); });
            }
        }
        if (rc == 0) {
            rc = uv_signal_start(sigint_.get(), &CheckRunner::on_signal, SIGINT);
        }
        if (rc == 0) {
            rc = uv_signal_start(sigterm_.get(), &CheckRunner::on_signal, SIGTERM);
        }
        if (rc != 0) {
            return unexpected(std::string("timer or signal: ") + uv_strerror(rc));
        }
        start_round();
        return {};
    }

private:
    void start_round() {
        ++round_;
        results_.assign(jobs_.size(), CheckResult{});
        runs_.clear();
        runs_.resize(jobs_.size());
        pending_ = jobs_.size();
        for (std::size_t i = 0; i < jobs_.size(); ++i) {
            const auto& job = jobs_[i];
            const config::Module& module = runtime_->config->modules.at(job.module);
            ProbeRequest request;
            request.config = runtime_->config;
            request.module_name = job.module;
            request.target = job.target;
            request.timeout_seconds = module.timeout.count() > 0
                                          ? std::chrono::duration<double>(module.timeout).count()
                                          : kDefaultTimeoutSeconds;
            request.tls = runtime_->tls_for(job.module);
            runs_[i] = ProbeRun::start(ProbeEnvironment{loop_, resolver_, prober_log_level_,
                                                        probe_log_mirror_, &pool_, probe_log_json_},
                                       std::move(request), [this, i](ProbeReport report) {
                                           on_report(i, std::move(report));
                                       });
        }
    }

    void on_report(std::size_t index, ProbeReport report) {
        CheckResult& result = results_[index];
        result.module = jobs_[index].module;
        result.target = jobs_[index].target;
        result.success = report.success;
        result.duration_seconds = report.duration_seconds;
        result.detail = report.detail;
        result.registry = std::move(report.registry);
        // Inside the run's own callback: freed on a later iteration.
        loop_.defer_delete(std::move(runs_[index]));
        if (--pending_ > 0) {
            return;
        }
        on_round_(results_);
        if (round_ >= repeat_) {
            loop_.stop();
            return;
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval_).count();
        uv_timer_start(timer_.get(), &CheckRunner::on_timer, static_cast<std::uint64_t>(ms), 0);
    }

    static void on_signal(uv_signal_t* handle, int /*signum*/) noexcept {
        if (auto* self = owner_of<CheckRunner>(handle)) {
            self->interrupted_ = true;
            // Cancels the probes in flight: none of them reports.
            self->runs_.clear();
            uv_timer_stop(self->timer_.get());
            self->loop_.stop();
        }
    }

    static void on_timer(uv_timer_t* timer) noexcept {
        if (auto* self = owner_of<CheckRunner>(timer)) {
            self->start_round();
        }
    }

    Loop& loop_;
    net::Resolver& resolver_;
    modules::icmp::IcmpSocketPool& pool_;
    std::shared_ptr<const RuntimeConfig> runtime_;
    std::vector<Job> jobs_;
    unsigned repeat_;
    config::Duration interval_;
    OnRound on_round_;
    LogLevel prober_log_level_;
    std::FILE* probe_log_mirror_;
    bool probe_log_json_;
    std::vector<std::unique_ptr<ProbeRun>> runs_;
    std::vector<CheckResult> results_;
    std::size_t pending_ = 0;
    unsigned round_ = 0;
    UvHandle<uv_timer_t> timer_;
    UvHandle<uv_signal_t> sigint_;
    UvHandle<uv_signal_t> sigterm_;
    bool interrupted_ = false;

public:
    bool interrupted() const { return interrupted_; }
};

Result<unsigned> parse_repeat(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || end != text.c_str() + text.size() || errno == ERANGE ||
        value == 0 || value > 1000000UL) {
        return unexpected("invalid value \"" + text +
                          "\" for flag --repeat (a count of 1 or more)");
    }
    return static_cast<unsigned>(value);
}

}  // namespace

Result<CheckOptions> parse_check_args(const std::vector<std::string>& args) {
    CheckOptions options;
    std::vector<std::string> exporter_args;
    std::vector<std::string> positional;
    bool log_level_given = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "-h" || arg == "--help") {
            options.show_help = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
            if (!arg.empty() && arg[0] == '-' && arg != "--") {
                return unexpected("unknown short flag '" + arg + "', try --help");
            }
            if (arg != "--") {
                positional.push_back(arg);
            }
            continue;
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        const auto take_value = [&]() -> Result<std::string> {
            if (value) {
                return *value;
            }
            if (i + 1 >= args.size()) {
                return unexpected("expected argument for flag '--" + name + "'");
            }
            return args[++i];
        };
        if (name == "json" || name == "metrics") {
            if (value) {
                return unexpected("flag --" + name + " takes no value");
            }
            const CheckFormat format = name == "json" ? CheckFormat::Json : CheckFormat::Metrics;
            if (options.format != CheckFormat::Text && options.format != format) {
                return unexpected("--json and --metrics cannot be used together");
            }
            options.format = format;
        } else if (name == "repeat") {
            auto text = take_value();
            if (!text) {
                return unexpected(text.error());
            }
            auto n = parse_repeat(*text);
            if (!n) {
                return unexpected(n.error());
            }
            options.repeat = *n;
        } else if (name == "interval") {
            auto text = take_value();
            if (!text) {
                return unexpected(text.error());
            }
            auto d = config::parse_go_duration(*text);
            if (!d || d->count() < 0) {
                return unexpected("invalid value \"" + *text + "\" for flag --interval");
            }
            options.interval = *d;
        } else {
            log_level_given = log_level_given || name == "log.level";
            options.mirror_probe_log = options.mirror_probe_log || name == "log.prober";
            exporter_args.push_back(arg);
            if (!value && takes_value(name) && i + 1 < args.size()) {
                exporter_args.push_back(args[++i]);
            }
        }
    }
    auto flags = parse_flags(exporter_args);
    if (!flags) {
        return unexpected(flags.error());
    }
    options.flags = std::move(*flags);
    if (options.flags.show_help) {
        options.show_help = true;
    }
    if (options.flags.show_version || options.flags.config_check) {
        return unexpected("--version and --config.check are not flags of sonde check");
    }
    // A check prints its results; the loader's info lines would only get in the way.
    if (!log_level_given) {
        options.flags.log_level = LogLevel::Warn;
    }
    if (positional.size() == 1) {
        return unexpected("expected a TARGET after the module \"" + positional[0] +
                          "\", try --help");
    }
    if (!positional.empty()) {
        options.module = positional[0];
        options.targets.assign(positional.begin() + 1, positional.end());
    }
    return options;
}

std::string check_usage_text() {
    return R"(usage: sonde check [<flags>] [MODULE TARGET [TARGET...]]

Runs one probe of MODULE per TARGET, concurrently, and prints what happened: OK or FAIL with
the duration, each phase with its time, the facts (status code, TLS version, certificate
expiry, DNS answers...) and the reason of a failure. Without MODULE and TARGET, runs every
static target of the config's `targets:` section once (a CI gate for "is it all up").

The probe timeout is the module's `timeout`, else 10s.
Exit status: 0 when every probe succeeded, 1 when any failed, 2 on a usage or config error.
Ctrl-C (SIGINT) or SIGTERM cancels the probes in flight, prints the summary of those that
finished and exits 130.

Flags:
  -h, --help             Show this help.
      --json             Print each result as a JSON object (an array when several).
      --metrics          Print each probe's metrics in the Prometheus text format.
      --repeat=1         Run the probes this many times (a summary line ends the output).
      --interval=1s      Time between repeated rounds.
      --config.file="blackbox.yml"
                         Configuration file; when the default file does not exist, the
                         built-in modules are used.
      --resolver.nameserver=IP[:PORT] ...
                         DNS server for target names instead of /etc/resolv.conf.
      --log.level=warn   Log level of sonde's own messages (on stderr).
)";
}

int run_check(const CheckOptions& options, std::FILE* out) {
    Logger logger(options.flags.log_level, options.flags.log_json);
    auto runtime = load_runtime(options.flags, logger);
    if (!runtime) {
        std::fprintf(stderr, "sonde check: error loading config: %s\n", runtime.error().c_str());
        return 2;
    }
    const auto& config = *(*runtime)->config;
    std::vector<Job> jobs;
    if (options.module) {
        if (config.modules.find(*options.module) == config.modules.end()) {
            std::fprintf(stderr, "sonde check: unknown module \"%s\" in %s\n",
                         options.module->c_str(), config.source.c_str());
            return 2;
        }
        for (const auto& target : options.targets) {
            jobs.push_back({*options.module, target});
        }
    } else {
        for (const auto& group : config.targets) {
            if (config.modules.find(group.module) == config.modules.end()) {
                std::fprintf(stderr, "sonde check: unknown module \"%s\" in targets of %s\n",
                             group.module.c_str(), config.source.c_str());
                return 2;
            }
            for (const auto& target : group.targets) {
                jobs.push_back({group.module, target});
            }
        }
        if (jobs.empty()) {
            std::fprintf(stderr,
                         "sonde check: no MODULE and TARGET given, and %s has no static "
                         "targets; try --help\n",
                         config.source.c_str());
            return 2;
        }
    }

    const bool colour = options.format == CheckFormat::Text && ::isatty(::fileno(out)) == 1;
    std::size_t probes = 0;
    std::size_t failed = 0;
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    const auto on_round = [&](const std::vector<CheckResult>& results) {
        for (const auto& result : results) {
            ++probes;
            failed += result.success ? 0 : 1;
            switch (options.format) {
                case CheckFormat::Text:
                    std::fputs(render_check_text(result, colour).c_str(), out);
                    break;
                case CheckFormat::Json:
                    all.push_back(check_json(result));
                    break;
                case CheckFormat::Metrics:
                    if (jobs.size() > 1 || options.repeat > 1) {
                        std::fprintf(out, "# sonde check: module=%s target=%s %s\n",
                                     result.module.c_str(), result.target.c_str(),
                                     result.success ? "OK" : "FAIL");
                    }
                    std::fputs(render_registry(*result.registry).c_str(), out);
                    break;
            }
        }
        std::fflush(out);
    };

    int code = 0;
    bool interrupted = false;
    {
        Loop loop;
        net::ResolverOptions resolver_options;
        resolver_options.servers = options.flags.nameservers;
        auto resolver = net::Resolver::create(loop, resolver_options);
        if (!resolver) {
            std::fprintf(stderr, "sonde check: resolver: %s\n", resolver.error().c_str());
            code = 2;
        } else {
            auto pool = std::make_unique<modules::icmp::IcmpSocketPool>(loop);
            auto runner = std::make_unique<CheckRunner>(
                loop, **resolver, *pool, *runtime, jobs, options.repeat, options.interval, on_round,
                options.flags.prober_log_level, options.mirror_probe_log ? stderr : nullptr,
                options.flags.log_json);
            if (auto started = runner->start(); !started) {
                std::fprintf(stderr, "sonde check: %s\n", started.error().c_str());
                code = 2;
            } else {
                loop.run();
                interrupted = runner->interrupted();
            }
            // Owners first (their handles close), then the loop.
            runner.reset();
            pool.reset();
            resolver->reset();
        }
        loop.close();
    }
    if (code != 0) {
        return code;
    }
    if (interrupted) {
        std::fprintf(stderr, "sonde check: interrupted\n");
    }
    if (options.format == CheckFormat::Json) {
        const nlohmann::ordered_json& shown = all.size() == 1 ? all.front() : all;
        std::fputs((shown.dump(2) + "\n").c_str(), out);
    } else if (options.format == CheckFormat::Text && (probes > 1 || interrupted)) {
        std::fprintf(out, "%s\n", render_check_summary(jobs.size(), probes, failed).c_str());
    }
    std::fflush(out);
    if (interrupted) {
        return 130;
    }
    return failed == 0 ? 0 : 1;
}

int run_check_command(const std::vector<std::string>& args) {
    auto options = parse_check_args(args);
    if (!options) {
        std::fprintf(stderr, "sonde check: error: %s\n", options.error().c_str());
        return 2;
    }
    if (options->show_help) {
        std::fputs(check_usage_text().c_str(), stdout);
        return 0;
    }
    return run_check(*options, stdout);
}

}  // namespace sonde::app

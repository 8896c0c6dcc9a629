#include "prober/app/exporter.hpp"

#include <prometheus/registry.h>

#include "config/loader.hpp"
#include "modules/http/http_probe.hpp"
#include "prober/app/debug_output.hpp"
#include "prober/app/metrics_text.hpp"
#include "prober/app/probe_timeout.hpp"
#include "prober/app/status_page.hpp"

namespace sonde::app {
namespace {

net::HttpResponse text_response(int status, std::string body,
                                const char* content_type = "text/plain; charset=utf-8") {
    net::HttpResponse response;
    response.status = status;
    response.headers.set("Content-Type", content_type);
    response.body = std::move(body);
    return response;
}

// The size of the pieces a big /metrics body is rendered and sent in: about a millisecond of
// rendering each.
constexpr std::size_t kMetricsPieceBytes = 256 * 1024;

net::HttpServerLimits server_limits(const Flags& flags) {
    net::HttpServerLimits limits;
    limits.max_connections = flags.web_max_connections;
    return limits;
}

double seconds(config::Duration d) {
    return std::chrono::duration_cast<std::chrono::duration<double>>(d).count();
}

}  // namespace

Exporter::Exporter(Loop& loop, net::Resolver& resolver, const Flags& flags, Logger& logger,
                   SelfMetrics& metrics, Hooks hooks)
    : loop_(loop),
      resolver_(resolver),
      flags_(flags),
      logger_(logger),
      metrics_(metrics),
      hooks_(std::move(hooks)),
      prefix_(normalise_route_prefix(flags)),
      history_(flags.history_limit),
      icmp_pool_(loop),
      admission_(hooks_.admission),
      server_(
          loop,
          [this](const net::HttpRequest& request, net::HttpResponder responder) {
              handle(request, std::move(responder));
          },
          server_limits(flags)) {
    if (admission_ == nullptr) {
        own_admission_ = std::make_unique<ProbeAdmission>(flags.probe_max_concurrent, loop);
        admission_ = own_admission_.get();
    }
}

Exporter::~Exporter() {
    stop();
}

Result<void> Exporter::listen() {
    for (const auto& address : flags_.listen_addresses) {
        auto ok = server_.listen(address);
        if (!ok) {
            return unexpected("listen on " + address + ": " + ok.error());
        }
    }
    // The bound addresses, not the requested ones: with port 0 this is how a caller learns it.
    for (const auto& bound : server_.bound_addresses()) {
        logger_.info("Listening on", {{"address", bound}});
    }
    return {};
}

void Exporter::stop() {
    server_.stop();
    // Destroying a run cancels its probe; none of them is on the stack here.
    while (!inflight_.empty()) {
        cancel(inflight_.begin()->first);
    }
}

void Exporter::handle(const net::HttpRequest& request, net::HttpResponder responder) {
    std::string path = request.path;
    if (prefix_ != "/") {
        if (path == prefix_ || path == "/") {
            net::HttpResponse redirect = text_response(302, "");
            redirect.headers.set("Location", prefix_ + "/");
            responder.respond(std::move(redirect));
            return;
        }
        if (path.rfind(prefix_ + "/", 0) != 0) {
            responder.respond(text_response(404, "404 page not found\n"));
            return;
        }
        path.erase(0, prefix_.size());
    }
    auto params = request.query_params();
    if (!params) {
        responder.respond(text_response(400, "invalid query: " + params.error() + "\n"));
        return;
    }
    if (path == "/probe") {
        handle_probe(request, *params, std::move(responder));
    } else if (path == "/metrics") {
        handle_metrics(std::move(responder));
    } else if (path == "/sd" && hooks_.service_discovery) {
        responder.respond(text_response(200, hooks_.service_discovery(), "application/json"));
    } else if (path == "/-/healthy") {
        responder.respond(text_response(200, "Healthy"));
    } else if (path == "/-/reload") {
        handle_reload(request, responder);
    } else if (path == "/config") {
        const auto runtime = hooks_.runtime();
        responder.respond(text_response(200, config::render_config_yaml(*runtime->config)));
    } else if (path == "/logs") {
        handle_logs(*params, responder);
    } else if (path == "/") {
        responder.respond(text_response(200, status_page(), "text/html; charset=utf-8"));
    } else {
        // The exporter answers unknown paths with the status page and 200; a 404 tells a
        // mistyped scrape path apart from a working one.
        responder.respond(text_response(404, "404 page not found\n"));
    }
}

void Exporter::handle_metrics(net::HttpResponder responder) {
    std::map<std::string, prometheus::MetricFamily> scheduled;
    if (hooks_.scheduled_metrics) {
        hooks_.scheduled_metrics(scheduled);
    }
    admission_->collect(scheduled);
    // Shared only because std::function must be copyable; the body source is its one owner.
    auto render = std::make_shared<SlicedRender>(
        metrics_.collect(std::move(scheduled)),
        hooks_.scheduled_series ? hooks_.scheduled_series() : nullptr);
    // A body that fits in one piece goes out at once, with a Content-Length; a bigger one (many
    // scheduled targets) is rendered and sent a piece per loop iteration, so a scrape never
    // blocks the loop for long and the whole text is never held in memory.
    std::string first;
    if (!render->next(first, kMetricsPieceBytes)) {
        responder.respond(text_response(200, std::move(first), kTextContentType));
        return;
    }
    net::HttpResponse head = text_response(200, "", kTextContentType);
    responder.respond_streaming(
        std::move(head),
        [render = std::move(render), first = std::move(first)](std::string& out) mutable {
            if (!first.empty()) {
                out += first;
                first = std::string();
                return true;
            }
            return render->next(out, kMetricsPieceBytes);
        });
}

void Exporter::handle_probe(const net::HttpRequest& request, const net::QueryParams& params,
                            net::HttpResponder responder) {
    const auto runtime = hooks_.runtime();
    const std::string* module_param = params.get("module");
    const std::string module_name =
        module_param == nullptr || module_param->empty() ? "http_2xx" : *module_param;
    const auto module_it = runtime->config->modules.find(module_name);
    if (module_it == runtime->config->modules.end()) {
        metrics_.unknown_module();
        logger_.debug("Unknown module", {{"module", module_name}});
        responder.respond(text_response(400, "Unknown module \"" + module_name + "\"\n"));
        return;
    }
    const config::Module& module = module_it->second;

    const std::string* header = request.header("X-Prometheus-Scrape-Timeout-Seconds");
    auto scrape_timeout = parse_scrape_timeout_header(
        header == nullptr ? std::nullopt : std::optional<std::string_view>(*header));
    if (!scrape_timeout) {
        responder.respond(text_response(500, scrape_timeout.error() + "\n"));
        return;
    }
    const std::string* target_param = params.get("target");
    if (target_param == nullptr || target_param->empty()) {
        responder.respond(text_response(400, "Target parameter is missing\n"));
        return;
    }
    // Targets that were percent-encoded twice (a relabelled __param_target) are decoded once
    // more, as the exporter does since #1525.
    std::string target = *target_param;
    if (auto decoded = net::query_unescape(target)) {
        target = std::move(*decoded);
    }
    const std::string* hostname = params.get("hostname");
    if (hostname != nullptr) {
        if (auto checked = modules::http::check_http_hostname(module, *hostname); !checked) {
            responder.respond(text_response(400, checked.error() + "\n"));
            return;
        }
    }

    ProbeRequest probe;
    probe.config = runtime->config;
    probe.module_name = module_name;
    probe.target = target;
    probe.hostname = hostname == nullptr ? std::string() : *hostname;
    probe.timeout_seconds =
        effective_timeout_seconds(*scrape_timeout, flags_.timeout_offset, seconds(module.timeout));
    probe.tls = runtime->tls_for(module_name);

    // Past --probe.max-concurrent a probe would only slow every other one down: refuse it,
    // saying why, rather than let latency collapse.
    auto admitted = admission_->try_acquire();
    if (!admitted) {
        admission_->count_rejected("concurrency");
        logger_.debug("Probe refused: too many probes in flight",
                      {{"module", module_name}, {"target", target}});
        responder.respond(text_response(503, "Too many probes in flight: all " +
                                                 std::to_string(admission_->limit()) +
                                                 " slots of --probe.max-concurrent are taken (" +
                                                 std::to_string(admission_->waiting()) +
                                                 " scheduled runs waiting); try again later\n"));
        return;
    }

    const std::uint64_t id = next_id_++;
    const std::string* debug = params.get("debug");
    InFlight& slot = inflight_[id];
    slot.slot = std::move(admitted);
    slot.debug = debug != nullptr && *debug == "true";
    slot.runtime = runtime;
    slot.responder = std::move(responder);
    // A client that goes away cancels its probe: nobody is waiting for the answer.
    slot.responder.on_cancel([this, id] { cancel(id); });
    metrics_.probe_started();
    slot.run = ProbeRun::start(
        ProbeEnvironment{loop_, resolver_, flags_.prober_log_level, logger_.stream(), &icmp_pool_,
                         logger_.json()},
        std::move(probe), [this, id](ProbeReport report) { on_report(id, std::move(report)); });
}

void Exporter::on_report(std::uint64_t id, ProbeReport report) {
    const auto it = inflight_.find(id);
    if (it == inflight_.end()) {
        return;
    }
    InFlight slot = std::move(it->second);
    inflight_.erase(it);
    const std::string module_name = slot.run->module_name();
    const std::string target = slot.run->target();
    // This runs inside the run's own callback: it is freed on a later iteration.
    loop_.defer_delete(std::move(slot.run));
    metrics_.probe_finished(module_name, report.success, report.failure);

    std::string metrics_text = render_registry(*report.registry);
    if (report.denied) {
        metrics_.probe_denied(config::deny_reason_label(report.denied->reason));
    }
    if (report.denied && report.denied->before_any_dial) {
        // The policy refused the target itself: nothing was probed (a denial further on, as a
        // redirect to a denied address, fails the probe instead).
        slot.responder.respond(text_response(403, report.denied->message + "\n"));
    } else if (slot.debug) {
        const auto& modules = slot.runtime->config->modules;
        const auto module_it = modules.find(module_name);
        slot.responder.respond(text_response(
            200, debug_output(report.log, metrics_text,
                              module_it == modules.end() ? nullptr : &module_it->second)));
    } else {
        slot.responder.respond(text_response(200, metrics_text, kTextContentType));
    }
    ProbeHistoryEntry entry;
    entry.module_name = module_name;
    entry.target = target;
    entry.success = report.success;
    entry.log = std::move(report.log);
    entry.metrics_text = std::move(metrics_text);
    entry.config = slot.runtime->config;
    history_.add(std::move(entry));
}

void Exporter::cancel(std::uint64_t id) {
    const auto it = inflight_.find(id);
    if (it == inflight_.end()) {
        return;
    }
    metrics_.probe_cancelled(it->second.run->module_name());
    inflight_.erase(it);  // destroying the run closes its sockets at once
}

void Exporter::handle_logs(const net::QueryParams& params, net::HttpResponder& responder) {
    const std::string* id = params.get("id");
    const std::string* target = params.get("target");
    const std::string* module = params.get("module");
    if (id != nullptr && target != nullptr) {
        responder.respond(
            text_response(400, "Probe id and target can't be defined at the same time\n"));
        return;
    }
    if (id == nullptr && target == nullptr) {
        if (module != nullptr) {
            responder.respond(text_response(
                400, "Probe module filter only works in conjunction with target parameter\n"));
            return;
        }
        responder.respond(
            text_response(400, "Probe id or target must be defined as http query parameters\n"));
        return;
    }
    const ProbeHistoryEntry* entry = nullptr;
    if (id != nullptr) {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(id->c_str(), &end, 10);
        if (id->empty() || end != id->c_str() + id->size()) {
            responder.respond(text_response(400, "Invalid probe id\n"));
            return;
        }
        entry = history_.by_id(n);
        if (entry == nullptr) {
            responder.respond(text_response(404, "Probe id not found\n"));
            return;
        }
    } else {
        entry = history_.by_target(
            *target, module == nullptr ? std::nullopt : std::optional<std::string>(*module));
        if (entry == nullptr) {
            responder.respond(text_response(404, "Probe target not found\n"));
            return;
        }
    }
    const auto& modules = entry->config->modules;
    const auto module_it = modules.find(entry->module_name);
    responder.respond(text_response(
        200, debug_output(entry->log, entry->metrics_text,
                          module_it == modules.end() ? nullptr : &module_it->second)));
}

void Exporter::handle_reload(const net::HttpRequest& request, net::HttpResponder& responder) {
    if (request.method != "POST") {
        responder.respond(text_response(405, "This endpoint requires a POST request.\n"));
        return;
    }
    auto ok = hooks_.reload();
    if (!ok) {
        responder.respond(text_response(500, "failed to reload config: " + ok.error() + "\n"));
        return;
    }
    responder.respond(text_response(200, ""));
}

std::string Exporter::status_page() const {
    return render_status_page(prefix_, history_.list());
}

}  // namespace sonde::app

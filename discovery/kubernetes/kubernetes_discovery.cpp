#include "discovery/kubernetes/kubernetes_discovery.hpp"

#include <chrono>

namespace sonde::discovery::kubernetes {

KubernetesDiscovery::KubernetesDiscovery(Loop& loop, Logger& logger, OnTargets on_targets)
    : loop_(loop), logger_(logger), on_targets_(std::move(on_targets)) {
}

KubernetesDiscovery::~KubernetesDiscovery() = default;

Result<std::unique_ptr<KubernetesDiscovery>> KubernetesDiscovery::create(
    Loop& loop, Logger& logger, net::Resolver* resolver, KubernetesDiscoveryOptions options,
    OnTargets on_targets) {
    const config::KubernetesDiscoveryConfig& config = options.config;
    Result<KubeClientConfig> client = options.client ? Result<KubeClientConfig>(*options.client)
                                      : !config.kubeconfig.empty()
                                          ? load_kubeconfig(config.kubeconfig)
                                          : in_cluster_config(options.in_cluster);
    if (!client) {
        return unexpected("kubernetes discovery: " + client.error());
    }
    auto api = ApiClient::create(loop, std::move(*client), resolver, options.api);
    if (!api) {
        return unexpected("kubernetes discovery: " + api.error());
    }
    std::unique_ptr<KubernetesDiscovery> self(
        new KubernetesDiscovery(loop, logger, std::move(on_targets)));
    self->api_ = std::move(*api);
    self->derive_.probe_all = config.probe_all;
    self->derive_.interval = std::chrono::duration_cast<std::chrono::milliseconds>(config.interval);
    self->derive_.service_module = config.service_module;
    self->derive_.ingress_module = config.ingress_module;
    self->derive_.modules = std::move(options.modules);

    std::vector<std::string> namespaces = config.namespaces;
    if (namespaces.empty()) {
        namespaces.emplace_back();  // all namespaces
    }
    KubernetesDiscovery* raw = self.get();
    const auto add = [&](const ApiResource& resource, const Reflector::Derive& derive) {
        for (const std::string& ns : namespaces) {
            ReflectorOptions reflector;
            reflector.resource = resource;
            reflector.namespace_name = ns;
            reflector.label_selector = config.label_selector;
            reflector.min_watch_timeout = options.min_watch_timeout;
            reflector.backoff = options.backoff;
            reflector.random01 = options.random01;
            raw->reflectors_.push_back(std::make_unique<Reflector>(loop, *raw->api_, logger,
                                                                   std::move(reflector), derive,
                                                                   [raw] { raw->on_change(); }));
        }
    };
    if (config.services) {
        add(services_resource(),
            [raw](const nlohmann::json& object) { return service_targets(object, raw->derive_); });
    }
    if (config.ingresses) {
        add(ingresses_resource(),
            [raw](const nlohmann::json& object) { return ingress_targets(object, raw->derive_); });
    }
    return self;
}

void KubernetesDiscovery::start() {
    logger_.info("starting kubernetes discovery",
                 {{"api", api_->config().authority()}, {"source", api_->config().source}});
    for (auto& reflector : reflectors_) {
        reflector->start();
    }
}

KubernetesDiscoveryStatus KubernetesDiscovery::status() const {
    KubernetesDiscoveryStatus status;
    status.healthy = !reflectors_.empty();
    for (const auto& reflector : reflectors_) {
        const ReflectorStats& stats = reflector->stats();
        status.healthy = status.healthy && stats.healthy;
        status.last_sync_seconds = std::max(status.last_sync_seconds, stats.last_sync_seconds);
        status.list_requests += stats.list_requests;
        status.list_errors += stats.list_errors;
        status.watch_requests += stats.watch_requests;
        status.watch_errors += stats.watch_errors;
        status.objects += reflector->store().size();
    }
    status.targets = targets_.size();
    return status;
}

void KubernetesDiscovery::on_change() {
    if (emit_pending_) {
        return;
    }
    emit_pending_ = true;
    loop_.post(alive_, [this] { emit(); });
}

void KubernetesDiscovery::emit() {
    emit_pending_ = false;
    bool all_synced = true;
    TargetSet merged;
    for (const auto& reflector : reflectors_) {
        all_synced = all_synced && reflector->stats().synced;
        for (const auto& [key, entry] : reflector->store()) {
            merged.insert(merged.end(), entry.targets.begin(), entry.targets.end());
        }
    }
    // Before every role listed once, an empty set says nothing; targets of the roles that did
    // list are handed over at once (an API refusing Ingresses must not hold Services back).
    if (!all_synced && !emitted_ && merged.empty()) {
        return;
    }
    if (emitted_ && merged == targets_) {
        return;
    }
    targets_ = std::move(merged);
    emitted_ = true;
    // A copy: the owner may destroy this object, and with it on_targets_, inside the call.
    const OnTargets callback = on_targets_;
    callback(targets_);
}

}  // namespace sonde::discovery::kubernetes

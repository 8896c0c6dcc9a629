#pragma once

// KubernetesDiscovery: the Kubernetes target source. It runs one Reflector per (role,
// namespace) — Services and/or Ingresses, in every namespace or in each configured one — merges
// their stores and hands the whole current target set to a callback whenever it changes.
//
// Ownership: the app owns it (unique_ptr); destroying it at any moment (mid-list, mid-watch,
// during a backoff) cancels every request and timer, and no callback runs afterwards.
// Loop affinity: create, use and destroy on the loop's thread.
//
// Callback contract: on_targets runs on the loop from a posted task (never inside create() or
// a socket callback), at most once per loop iteration however many events arrived (bursts are
// coalesced), and only when the set differs from the one handed over last; the first call
// comes once every reflector has listed once, even when the set is empty (or earlier, when
// some listed and found targets). The owner may destroy the discovery inside on_targets, after
// which the set it was given is gone too.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "discovery/kubernetes/api_client.hpp"
#include "discovery/kubernetes/derive_targets.hpp"
#include "discovery/kubernetes/kube_client_config.hpp"
#include "discovery/kubernetes/reflector.hpp"
#include "discovery/target.hpp"
#include "prober/core/logger.hpp"
#include "prober/core/loop.hpp"
#include "prober/net/resolver.hpp"

namespace sonde::discovery::kubernetes {

// For sonde_discovery_* metrics.
struct KubernetesDiscoveryStatus {
    bool healthy = false;          // every reflector listed and its last request succeeded
    double last_sync_seconds = 0;  // Unix time of the newest list or watch data (0: never)
    std::uint64_t list_requests = 0;
    std::uint64_t list_errors = 0;
    std::uint64_t watch_requests = 0;
    std::uint64_t watch_errors = 0;
    std::size_t objects = 0;  // Services and Ingresses known (opted in or not)
    std::size_t targets = 0;  // in the current target set
};

struct KubernetesDiscoveryOptions {
    config::KubernetesDiscoveryConfig config;
    // Module names a sonde.io/module annotation may use (the config's modules); empty: any.
    std::set<std::string> modules;
    // Where the API is: unset reads config.kubeconfig, or the in-cluster environment.
    std::optional<KubeClientConfig> client;
    InClusterEnvironment in_cluster;
    ApiClientOptions api;
    // Reflector knobs, shortened by tests.
    std::chrono::seconds min_watch_timeout{300};
    BackoffPolicy backoff;
    std::function<double()> random01;  // unset: a seeded generator
};

class KubernetesDiscovery {
public:
    using OnTargets = std::function<void(const TargetSet& targets)>;

    // Reads the client configuration (kubeconfig or in-cluster files) and builds the TLS
    // context; errors are returned, nothing is started. resolver (may be null) resolves an API
    // server given by name.
    [[nodiscard]] static Result<std::unique_ptr<KubernetesDiscovery>> create(
        Loop& loop, Logger& logger, net::Resolver* resolver, KubernetesDiscoveryOptions options,
        OnTargets on_targets);
    ~KubernetesDiscovery();
    KubernetesDiscovery(const KubernetesDiscovery&) = delete;
    KubernetesDiscovery& operator=(const KubernetesDiscovery&) = delete;

    // Starts listing and watching.
    void start();

    KubernetesDiscoveryStatus status() const;
    // The set handed over last.
    const TargetSet& targets() const { return targets_; }
    const KubeClientConfig& client_config() const { return api_->config(); }

private:
    KubernetesDiscovery(Loop& loop, Logger& logger, OnTargets on_targets);
    void on_change();
    void emit();

    Loop& loop_;
    Logger& logger_;
    OnTargets on_targets_;
    DeriveOptions derive_;
    std::unique_ptr<ApiClient> api_;
    // After api_: destroyed first, as they use it.
    std::vector<std::unique_ptr<Reflector>> reflectors_;
    TargetSet targets_;
    bool emitted_ = false;
    bool emit_pending_ = false;
    Alive alive_;
};

}  // namespace sonde::discovery::kubernetes

#pragma once

// Targets of one Kubernetes object, as Prometheus' kubernetes_sd roles `service` and `ingress`
// give them, filtered and shaped by annotations (pure functions, no loop):
//
//  - opt-in: annotation `prometheus.io/probe` is exactly "true" (the classic relabel rule's
//    anchored, case-sensitive regex); with probe_all every object is probed unless that
//    annotation is exactly "false".
//  - Service: one target per spec.ports[] entry, `<name>.<namespace>.svc:<port>`; no ports, no
//    targets. Ingress: one target per (rule with a host, path), `<scheme>://<host><path>`, the
//    path "/" when absent or empty, the scheme https when a spec.tls[].hosts entry matches the
//    host (exactly, or `*.` covering exactly one leftmost label), else http. Rules without a
//    host are skipped (the classic relabel rule's `(.+)` drops them), as is defaultBackend.
//  - overrides: `sonde.io/module` (module name), `sonde.io/port` (Services only: port names or
//    numbers, comma-separated, choosing which ports are probed), `sonde.io/scheme` (http or
//    https) and `sonde.io/path` (starting with '/'): on a Service either turns the target into
//    `<scheme>://<name>.<namespace>.svc:<port><path>` (scheme http by default); on an Ingress
//    they replace the derived scheme and every rule's path. `sonde.io/interval` is a Prometheus
//    duration ("30s", "1m30s", "1h") greater than zero.
//  - labels on every target: namespace, kind ("Service" | "Ingress"), name, in that order.
//
// An invalid annotation value (or an object too malformed to read) makes the whole object
// yield an error: the caller logs the reason and skips the object.

#include <chrono>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "discovery/target.hpp"
#include "prober/core/result.hpp"

namespace sonde::discovery::kubernetes {

inline constexpr std::string_view kProbeAnnotation = "prometheus.io/probe";
inline constexpr std::string_view kModuleAnnotation = "sonde.io/module";
inline constexpr std::string_view kPortAnnotation = "sonde.io/port";
inline constexpr std::string_view kPathAnnotation = "sonde.io/path";
inline constexpr std::string_view kSchemeAnnotation = "sonde.io/scheme";
inline constexpr std::string_view kIntervalAnnotation = "sonde.io/interval";

struct DeriveOptions {
    bool probe_all = false;
    std::chrono::milliseconds interval{30000};
    std::string service_module = "http_2xx";
    std::string ingress_module = "http_2xx";
    // The modules a sonde.io/module annotation may name; empty: any name is accepted.
    std::set<std::string> modules;
};

// An empty set when the object does not opt in; an error naming the annotation at fault.
[[nodiscard]] Result<TargetSet> service_targets(const nlohmann::json& service,
                                                const DeriveOptions& options);
[[nodiscard]] Result<TargetSet> ingress_targets(const nlohmann::json& ingress,
                                                const DeriveOptions& options);

// Prometheus' model.ParseDuration: `[0-9]+(y|w|d|h|m|s|ms)` groups in that order, or "0".
[[nodiscard]] Result<std::chrono::milliseconds> parse_prometheus_duration(std::string_view text);

// Prometheus' matchesHostnamePattern: equal, or "*.rest" matching exactly one more label.
bool matches_hostname_pattern(std::string_view pattern, std::string_view host);

}  // namespace sonde::discovery::kubernetes

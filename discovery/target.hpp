#pragma once

// A target as target sources (static lists, Kubernetes) hand it to the scheduler: what to probe,
// with which module, how often, and the labels that identify it on /metrics.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace sonde::discovery {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Target {
    std::string module;  // a module name of the config
    std::string target;  // what /probe?target= would get: "host:port" or "https://host/path"
    std::chrono::milliseconds interval{0};
    // Identity labels, rendered on every series of this target after `target` and `module`:
    // namespace, kind, name for Kubernetes objects; a static group's own labels otherwise.
    Labels labels;

    friend bool operator==(const Target&, const Target&) = default;
};

// The identity of a target: module, target and labels (not the interval, which may change
// without making it another target). Stable across processes, so replicas hash it alike.
std::string target_key(const Target& target);

// A source always hands over its whole current set (level-triggered): the scheduler diffs it.
using TargetSet = std::vector<Target>;

}  // namespace sonde::discovery

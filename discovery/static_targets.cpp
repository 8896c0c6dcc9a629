#include "discovery/static_targets.hpp"

namespace sonde::discovery {

TargetSet static_targets(const config::Config& config) {
    TargetSet out;
    for (const config::StaticTargetGroup& group : config.targets) {
        for (const std::string& target : group.targets) {
            out.push_back(
                Target{group.module, target,
                       std::chrono::duration_cast<std::chrono::milliseconds>(group.interval),
                       group.labels});
        }
    }
    return out;
}

}  // namespace sonde::discovery

#pragma once

// The config's `targets:` section as a target set: one Target per listed target, carrying its
// group's module, interval and labels.

#include "config/config.hpp"
#include "discovery/target.hpp"

namespace sonde::discovery {

TargetSet static_targets(const config::Config& config);

}  // namespace sonde::discovery

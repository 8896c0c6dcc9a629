#include "discovery/kubernetes/backoff.hpp"

#include <algorithm>

namespace sonde::discovery::kubernetes {

std::chrono::milliseconds Backoff::next(std::chrono::milliseconds now) {
    if (last_failure_.count() >= 0 && now - last_failure_ >= policy_.reset_after) {
        step_ = policy_.initial;
    }
    last_failure_ = now;
    const std::chrono::milliseconds base = step_;
    const auto grown = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
        static_cast<double>(step_.count()) * policy_.factor));
    step_ = std::min(grown, policy_.cap);
    const double random = std::clamp(random01_(), 0.0, 1.0);
    return base + std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
                      static_cast<double>(base.count()) * policy_.jitter * random));
}

}  // namespace sonde::discovery::kubernetes

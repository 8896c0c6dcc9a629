#pragma once

// Backoff: the delays between failed attempts, as client-go's reflector spaces them (initial
// 800 ms, doubled per failure up to a 30 s cap, each delay stretched by a random 0-100 %
// jitter, and back to the start after 2 minutes without a failure). Plain value, no loop
// affinity; time and randomness come from the caller so tests can drive both.

#include <chrono>
#include <functional>

namespace sonde::discovery::kubernetes {

struct BackoffPolicy {
    std::chrono::milliseconds initial{800};
    double factor = 2.0;
    double jitter = 1.0;  // a delay d becomes d * (1 + jitter * random[0,1))
    std::chrono::milliseconds cap{30000};
    std::chrono::milliseconds reset_after{120000};
};

class Backoff {
public:
    // random01 returns a number in [0, 1).
    Backoff(BackoffPolicy policy, std::function<double()> random01)
        : policy_(policy), random01_(std::move(random01)) {}

    // The delay before the next attempt, for a failure at `now` (a monotonic clock).
    std::chrono::milliseconds next(std::chrono::milliseconds now);
    // Back to the initial delay (after a success that proves the peer is healthy).
    void reset() { step_ = policy_.initial; }

private:
    BackoffPolicy policy_;
    std::function<double()> random01_;
    std::chrono::milliseconds step_{policy_.initial};
    std::chrono::milliseconds last_failure_{-1};
};

}  // namespace sonde::discovery::kubernetes

// Backoff: client-go's schedule (800 ms doubling to a 30 s cap, +0-100 % jitter, reset after
// 2 minutes without failures), with time and randomness driven by the test.

#include "discovery/kubernetes/backoff.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sonde::discovery::kubernetes::Backoff;
using sonde::discovery::kubernetes::BackoffPolicy;

TEST_CASE("backoff doubles up to the cap", "[unit][kube]") {
    Backoff backoff(BackoffPolicy{}, [] { return 0.0; });
    std::vector<long> delays;
    std::chrono::milliseconds now = 0ms;
    for (int i = 0; i < 8; ++i) {
        const auto d = backoff.next(now);
        delays.push_back(static_cast<long>(d.count()));
        now += d;
    }
    CHECK(delays == std::vector<long>{800, 1600, 3200, 6400, 12800, 25600, 30000, 30000});
}

TEST_CASE("backoff jitter stretches each delay by up to 100 %", "[unit][kube]") {
    double random = 0.5;
    Backoff backoff(BackoffPolicy{}, [&] { return random; });
    CHECK(backoff.next(0ms) == 1200ms);
    random = 0.999;
    const auto d = backoff.next(1s);
    CHECK(d > 3100ms);
    CHECK(d < 3200ms);
    // A bad generator cannot make a delay negative or more than doubled.
    random = 7.0;
    CHECK(backoff.next(2s) == 6400ms);
    random = -1.0;
    CHECK(backoff.next(3s) == 6400ms);
}

TEST_CASE("backoff resets after two minutes without failures", "[unit][kube]") {
    Backoff backoff(BackoffPolicy{}, [] { return 0.0; });
    CHECK(backoff.next(0ms) == 800ms);
    CHECK(backoff.next(1s) == 1600ms);
    CHECK(backoff.next(1s + 119s) == 3200ms);  // 119 s since the last failure: no reset
    CHECK(backoff.next(120s + 120s) == 800ms);
    CHECK(backoff.next(241s) == 1600ms);
    backoff.reset();
    CHECK(backoff.next(242s) == 800ms);
}

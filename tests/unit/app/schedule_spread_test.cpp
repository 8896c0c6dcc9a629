// Start times of scheduled targets: spread over the interval by a hash of the target, and the
// same phase on the wall clock whenever sonde (re)starts.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "prober/app/scheduler.hpp"
#include "prober/app/shard.hpp"

using sonde::app::first_delay_ms;

TEST_CASE("first runs are spread evenly over the interval", "[unit][scheduler]") {
    const std::uint64_t interval = 30000;
    const std::uint64_t now = 1764000000123;
    std::vector<int> buckets(10, 0);
    for (int i = 0; i < 10000; ++i) {
        const std::uint64_t delay =
            first_delay_ms("tcp_connect|" + std::to_string(i) + ".example:80", interval, now);
        REQUIRE(delay < interval);
        ++buckets[delay * 10 / interval];
    }
    for (int count : buckets) {
        INFO("runs in this tenth of the interval: " << count);
        CHECK(count > 850);
        CHECK(count < 1150);
    }
}

TEST_CASE("a target's phase on the wall clock survives a restart", "[unit][scheduler]") {
    const std::string key = "http_2xx|https://a.example/";
    const std::uint64_t interval = 15000;
    const std::uint64_t phase = sonde::app::stable_hash(key) % interval;
    for (std::uint64_t now : {1764000000000ULL, 1764000007777ULL, 1764000014999ULL}) {
        const std::uint64_t delay = first_delay_ms(key, interval, now);
        CHECK((now + delay) % interval == phase);
        CHECK(delay < interval);
    }
    // A different interval is a different grid, still in range.
    CHECK(first_delay_ms(key, 60000, 1764000000000ULL) < 60000);
}

#pragma once

// LoopFixture: a Loop for one test, with a watchdog that fails the test instead of letting it
// hang, and a teardown that proves every handle was closed (uv_loop_close() == 0).

#include <cstdint>
#include <functional>

#include <uv.h>

#include "prober/core/loop.hpp"

namespace sonde::test {

class LoopFixture {
public:
    explicit LoopFixture(std::uint64_t watchdog_ms = 10000);
    ~LoopFixture();
    LoopFixture(const LoopFixture&) = delete;
    LoopFixture& operator=(const LoopFixture&) = delete;

    Loop& loop() { return loop_; }

    // Runs the loop until done() returns true (checked after every iteration) or the watchdog
    // fires. Returns false on the watchdog.
    bool run_until(const std::function<bool()>& done);

    // Closes the loop; returns uv_loop_close()'s result (0 when nothing leaked).
    int close();

private:
    static void on_watchdog(uv_timer_t* timer) noexcept;

    Loop loop_;
    UvHandle<uv_timer_t> watchdog_;
    std::uint64_t watchdog_ms_;
    bool fired_ = false;
};

}  // namespace sonde::test

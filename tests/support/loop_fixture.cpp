#include "tests/support/loop_fixture.hpp"

#include <catch2/catch.hpp>

namespace sonde::test {

LoopFixture::LoopFixture(std::uint64_t watchdog_ms) : watchdog_ms_(watchdog_ms) {
    REQUIRE(watchdog_.init(this, [this](uv_timer_t* t) { return uv_timer_init(loop_.raw(), t); }) ==
            0);
}

LoopFixture::~LoopFixture() {
    watchdog_.reset();
    (void)loop_.close();
}

void LoopFixture::on_watchdog(uv_timer_t* timer) noexcept {
    auto* self = owner_of<LoopFixture>(timer);
    if (self != nullptr) {
        self->fired_ = true;
        self->loop_.stop();
    }
}

bool LoopFixture::run_until(const std::function<bool()>& done) {
    fired_ = false;
    uv_timer_start(watchdog_.get(), &LoopFixture::on_watchdog, watchdog_ms_, 0);
    // The watchdog keeps the loop alive, so UV_RUN_ONCE blocks until some event happens.
    while (!fired_ && !done()) {
        uv_run(loop_.raw(), UV_RUN_ONCE);
    }
    uv_timer_stop(watchdog_.get());
    return !fired_;
}

int LoopFixture::close() {
    watchdog_.reset();
    return loop_.close();
}

}  // namespace sonde::test

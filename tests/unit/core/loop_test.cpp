#include "prober/core/loop.hpp"

#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/loop_fixture.hpp"

namespace sonde {
namespace {

struct Tracked {
    explicit Tracked(int& deletions) : deletions_(deletions) {}
    ~Tracked() { ++deletions_; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
    int& deletions_;
};

TEST_CASE("post runs tasks later, in order, never synchronously", "[unit][loop]") {
    test::LoopFixture fx;
    std::vector<int> order;
    fx.loop().post([&] { order.push_back(1); });
    fx.loop().post([&] {
        order.push_back(2);
        // A task posted from a task runs on a later iteration, after the current batch.
        fx.loop().post([&] { order.push_back(4); });
    });
    fx.loop().post([&] { order.push_back(3); });
    CHECK(order.empty());
    REQUIRE(fx.run_until([&] { return order.size() == 4; }));
    CHECK(order == std::vector<int>{1, 2, 3, 4});
    REQUIRE(fx.close() == 0);
}

TEST_CASE("defer_delete destroys on a later iteration", "[unit][loop]") {
    test::LoopFixture fx;
    int deletions = 0;
    fx.loop().defer_delete(std::make_unique<Tracked>(deletions));
    CHECK(deletions == 0);
    REQUIRE(fx.run_until([&] { return deletions == 1; }));
    REQUIRE(fx.close() == 0);
}

TEST_CASE("close reports a leaked handle and closing it lets the loop close", "[unit][loop]") {
    test::LoopFixture fx;
    UvHandle<uv_timer_t> timer;
    REQUIRE(timer.init(nullptr, [&](uv_timer_t* t) { return uv_timer_init(fx.loop().raw(), t); }) ==
            0);
    uv_timer_start(
        timer.get(), [](uv_timer_t*) {}, 100000, 0);
    CHECK(fx.close() == UV_EBUSY);
    timer.reset();
    CHECK(fx.close() == 0);
}

TEST_CASE("pending work is drained when the loop closes", "[unit][loop]") {
    int deletions = 0;
    {
        test::LoopFixture fx;
        fx.loop().defer_delete(std::make_unique<Tracked>(deletions));
        REQUIRE(fx.close() == 0);
        CHECK(deletions == 1);
    }
}

}  // namespace
}  // namespace sonde

// ProbeAdmission without a loop: deferred tasks are collected and run by hand, so each test
// says exactly when a grant may happen.

#include "prober/app/probe_admission.hpp"

#include <catch2/catch.hpp>

#include "prober/app/metrics_text.hpp"
#include "tests/support/metrics_parse.hpp"

namespace sonde {
namespace {

struct Deferred {
    std::vector<std::function<void()>> tasks;

    app::ProbeAdmission::Defer defer() {
        return [this](std::function<void()> task) { tasks.push_back(std::move(task)); };
    }
    // Runs what is queued now (tasks queued meanwhile wait for the next call).
    std::size_t run() {
        auto now = std::move(tasks);
        tasks.clear();
        for (auto& task : now) {
            task();
        }
        return now.size();
    }
};

test::Samples render(const app::ProbeAdmission& admission) {
    std::map<std::string, prometheus::MetricFamily> families;
    admission.collect(families);
    std::vector<prometheus::MetricFamily> list;
    for (auto& [name, family] : families) {
        list.push_back(std::move(family));
    }
    return test::parse_samples(app::render_families(std::move(list)));
}

}  // namespace

TEST_CASE("slots are handed out up to the limit and come back when released", "[unit][limits]") {
    Deferred deferred;
    app::ProbeAdmission admission(2, deferred.defer());
    auto a = admission.try_acquire();
    auto b = admission.try_acquire();
    CHECK(a);
    CHECK(b);
    CHECK(admission.in_use() == 2);
    CHECK_FALSE(admission.try_acquire());
    CHECK(admission.in_use() == 2);

    a.release();
    a.release();  // idempotent
    CHECK(admission.in_use() == 1);
    {
        auto c = admission.try_acquire();
        CHECK(c);
        CHECK_FALSE(admission.try_acquire());
        // Moving keeps one slot, held by the destination.
        app::ProbeAdmission::Slot moved = std::move(c);
        CHECK(moved);
        CHECK(admission.in_use() == 2);
    }
    CHECK(admission.in_use() == 1);
    // Nothing waited: no deferred work was needed.
    CHECK(deferred.tasks.empty());
}

TEST_CASE("a queued run gets the next free slot, from a deferred task, in queue order",
          "[unit][limits]") {
    Deferred deferred;
    app::ProbeAdmission admission(1, deferred.defer());
    auto held = admission.try_acquire();
    REQUIRE(held);

    std::vector<int> order;
    std::vector<app::ProbeAdmission::Slot> granted;
    auto first = admission.enqueue([&](app::ProbeAdmission::Slot slot) {
        order.push_back(1);
        granted.push_back(std::move(slot));
    });
    auto second = admission.enqueue([&](app::ProbeAdmission::Slot slot) {
        order.push_back(2);
        granted.push_back(std::move(slot));
    });
    CHECK(first.waiting());
    CHECK(second.waiting());
    CHECK(admission.waiting() == 2);
    CHECK(deferred.tasks.empty());  // no slot is free: nothing to drain

    // Releasing never grants inside the release: the grant comes from the deferred task.
    held.release();
    CHECK(order.empty());
    CHECK(admission.in_use() == 0);
    // Waiters come first: a /probe arriving now is refused although a slot is free.
    CHECK_FALSE(admission.try_acquire());
    CHECK(deferred.run() == 1);
    REQUIRE(order == std::vector<int>{1});
    CHECK_FALSE(first.waiting());
    CHECK(second.waiting());
    CHECK(admission.in_use() == 1);

    granted.clear();  // the first run ends
    CHECK(deferred.run() == 1);
    CHECK(order == std::vector<int>{1, 2});
    CHECK(admission.waiting() == 0);
    granted.clear();
    CHECK(admission.in_use() == 0);
    CHECK(admission.try_acquire());
}

TEST_CASE("a ticket dropped or moved while waiting", "[unit][limits]") {
    Deferred deferred;
    app::ProbeAdmission admission(1, deferred.defer());
    auto held = admission.try_acquire();
    int grants = 0;
    app::ProbeAdmission::Slot kept;

    SECTION("dropped: leaves the queue and is never granted") {
        {
            auto ticket = admission.enqueue([&](app::ProbeAdmission::Slot) { ++grants; });
            CHECK(admission.waiting() == 1);
        }
        CHECK(admission.waiting() == 0);
        held.release();
        deferred.run();
        CHECK(grants == 0);
        CHECK(admission.in_use() == 0);
    }
    SECTION("moved: keeps its place, and the new owner can leave the queue") {
        auto ticket = admission.enqueue([&](app::ProbeAdmission::Slot slot) {
            ++grants;
            kept = std::move(slot);
        });
        app::ProbeAdmission::Ticket moved;
        moved = std::move(ticket);
        CHECK_FALSE(ticket.waiting());
        CHECK(moved.waiting());
        CHECK(admission.waiting() == 1);
        held.release();
        deferred.run();
        CHECK(grants == 1);
        CHECK_FALSE(moved.waiting());
        CHECK(admission.in_use() == 1);
        moved.reset();  // granted already: nothing to leave
        kept.release();
        CHECK(admission.in_use() == 0);
    }
    SECTION("cancelled between the release and the deferred grant") {
        auto ticket = admission.enqueue([&](app::ProbeAdmission::Slot) { ++grants; });
        held.release();
        ticket.reset();
        deferred.run();
        CHECK(grants == 0);
        CHECK(admission.in_use() == 0);
    }
}

TEST_CASE("a run queued while a slot is free is granted on the next turn", "[unit][limits]") {
    Deferred deferred;
    app::ProbeAdmission admission(1, deferred.defer());
    int grants = 0;
    app::ProbeAdmission::Slot kept;
    auto ticket = admission.enqueue([&](app::ProbeAdmission::Slot slot) {
        ++grants;
        kept = std::move(slot);
    });
    CHECK(grants == 0);  // never inside enqueue()
    CHECK(deferred.run() == 1);
    CHECK(grants == 1);
    kept.release();
}

TEST_CASE("a grant that releases its slot at once lets the next waiter in", "[unit][limits]") {
    Deferred deferred;
    app::ProbeAdmission admission(1, deferred.defer());
    auto held = admission.try_acquire();
    int grants = 0;
    auto a = admission.enqueue([&](app::ProbeAdmission::Slot) { ++grants; });
    auto b = admission.enqueue([&](app::ProbeAdmission::Slot) { ++grants; });
    held.release();
    // The first grant drops its slot; the same drain hands it to the second.
    deferred.run();
    CHECK(grants == 2);
    CHECK(admission.in_use() == 0);
}

TEST_CASE("a drain deferred past the admission's end does nothing", "[unit][limits]") {
    Deferred deferred;
    {
        app::ProbeAdmission admission(1, deferred.defer());
        auto held = admission.try_acquire();
        auto ticket = admission.enqueue([](app::ProbeAdmission::Slot) { FAIL("granted"); });
        held.release();
        ticket.reset();
    }
    CHECK(deferred.run() == 1);  // ASan: the task must not touch the freed admission
}

TEST_CASE("the admission's metrics: rejections by reason, the limit, the waiting runs",
          "[unit][limits]") {
    Deferred deferred;
    app::ProbeAdmission admission(3, deferred.defer());
    auto samples = render(admission);
    CHECK(samples.at("sonde_probe_requests_rejected_total{reason=\"concurrency\"}") == 0);
    CHECK(samples.at("sonde_probe_concurrency_limit") == 3);
    CHECK(samples.at("sonde_probes_waiting") == 0);

    admission.count_rejected("concurrency");
    admission.count_rejected("concurrency");
    auto a = admission.try_acquire();
    auto b = admission.try_acquire();
    auto c = admission.try_acquire();
    auto ticket = admission.enqueue([](app::ProbeAdmission::Slot) {});
    samples = render(admission);
    CHECK(admission.rejected("concurrency") == 2);
    CHECK(samples.at("sonde_probe_requests_rejected_total{reason=\"concurrency\"}") == 2);
    CHECK(samples.at("sonde_probes_waiting") == 1);
    ticket.reset();
}

}  // namespace sonde

#pragma once

// ProbeAdmission: the one bound on probes in flight (--probe.max-concurrent), shared by /probe
// and the scheduler. Past a point, more probes at once only make every probe slower (the loop,
// the CPU, descriptors and memory are shared), so sonde says no early instead:
//
// - A /probe request takes a slot with try_acquire(); when none is free it is refused (503 with
//   the reason, counted in sonde_probe_requests_rejected_total{reason="concurrency"}).
// - A scheduled run that finds no free slot queues with enqueue() and starts, late, when one
//   frees up: delayed, not dropped; the scheduler's lag metric shows by how much.
// - Queued runs come first: while any waits, try_acquire() fails even if a slot has just been
//   freed, so a stream of /probe requests cannot starve the schedule, and a freed slot goes to
//   the oldest waiter.
//
// A Slot is held for as long as its probe runs and released by its destruction. Grants are made
// from a deferred task (never inside the release that freed the slot, which often runs inside a
// probe's own callback or in the middle of a container's erase), in queue order.
//
// Ownership: the creator owns the admission, which must outlive every Slot and Ticket it handed
// out. Loop thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>

#include <prometheus/metric_family.h>

#include "prober/core/loop.hpp"

namespace sonde::app {

class ProbeAdmission {
public:
    // Runs a task on a later loop iteration (Loop::post in sonde; tests run them by hand).
    using Defer = std::function<void(std::function<void()>)>;

    // The right to run one probe. Move-only; empty when default-constructed or moved from.
    class Slot {
    public:
        Slot() = default;
        Slot(Slot&& other) noexcept;
        Slot& operator=(Slot&& other) noexcept;
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        ~Slot() { release(); }

        explicit operator bool() const { return owner_ != nullptr; }
        // Gives the slot back now (idempotent).
        void release();

    private:
        friend class ProbeAdmission;
        explicit Slot(ProbeAdmission* owner) : owner_(owner) {}
        ProbeAdmission* owner_ = nullptr;
    };

    // Called with the slot when a queued run's turn comes; from a deferred task, never inside
    // enqueue() or a release.
    using Grant = std::function<void(Slot)>;

    // A place in the queue. Destroying it (or reset()) leaves the queue without a grant; it is
    // empty again once granted. Move-only.
    class Ticket {
    public:
        Ticket() = default;
        Ticket(Ticket&& other) noexcept;
        Ticket& operator=(Ticket&& other) noexcept;
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket() { reset(); }

        bool waiting() const { return owner_ != nullptr; }
        void reset();

    private:
        friend class ProbeAdmission;
        struct Waiter {
            Grant grant;
            Ticket* ticket = nullptr;  // cleared when granted
        };
        ProbeAdmission* owner_ = nullptr;
        std::list<Waiter>::iterator it_;
    };

    // limit: probes in flight at most (at least 1).
    ProbeAdmission(std::size_t limit, Defer defer);
    ProbeAdmission(std::size_t limit, Loop& loop);
    ~ProbeAdmission();
    ProbeAdmission(const ProbeAdmission&) = delete;
    ProbeAdmission& operator=(const ProbeAdmission&) = delete;

    // A slot if one is free and nothing waits; an empty Slot otherwise.
    [[nodiscard]] Slot try_acquire();
    // Queues grant for the next free slot. Keep the ticket while waiting.
    [[nodiscard]] Ticket enqueue(Grant grant);
    // Counts a /probe request refused for `reason` ("concurrency").
    void count_rejected(const std::string& reason);

    std::size_t limit() const { return limit_; }
    std::size_t in_use() const { return in_use_; }
    std::size_t waiting() const { return waiters_.size(); }
    std::uint64_t rejected(const std::string& reason) const;

    // Appends sonde_probe_requests_rejected_total, sonde_probe_concurrency_limit and
    // sonde_probes_waiting to families.
    void collect(std::map<std::string, prometheus::MetricFamily>& families) const;

    // Hands free slots to the waiters, oldest first. Runs through Defer; public for tests.
    void drain();

private:
    void release_one();
    void request_drain();

    std::size_t limit_;
    Defer defer_;
    std::size_t in_use_ = 0;
    std::list<Ticket::Waiter> waiters_;
    std::map<std::string, std::uint64_t> rejected_;
    bool drain_pending_ = false;
    Alive alive_;  // a deferred drain does nothing once the admission is gone
};

}  // namespace sonde::app

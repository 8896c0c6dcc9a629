#include "prober/app/probe_admission.hpp"

#include <cassert>
#include <utility>

#include "prober/app/metrics_text.hpp"

namespace sonde::app {

// ---- Slot ----

ProbeAdmission::Slot::Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {
}

ProbeAdmission::Slot& ProbeAdmission::Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
}

void ProbeAdmission::Slot::release() {
    if (owner_ != nullptr) {
        std::exchange(owner_, nullptr)->release_one();
    }
}

// ---- Ticket ----

ProbeAdmission::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), it_(other.it_) {
    if (owner_ != nullptr) {
        it_->ticket = this;
    }
}

ProbeAdmission::Ticket& ProbeAdmission::Ticket::operator=(Ticket&& other) noexcept {
    if (this != &other) {
        reset();
        owner_ = std::exchange(other.owner_, nullptr);
        it_ = other.it_;
        if (owner_ != nullptr) {
            it_->ticket = this;
        }
    }
    return *this;
}

void ProbeAdmission::Ticket::reset() {
    if (owner_ != nullptr) {
        std::exchange(owner_, nullptr)->waiters_.erase(it_);
    }
}

// ---- ProbeAdmission ----

ProbeAdmission::ProbeAdmission(std::size_t limit, Defer defer)
    : limit_(limit == 0 ? 1 : limit), defer_(std::move(defer)) {
    rejected_["concurrency"] = 0;  // the series exists before the first refusal
}

ProbeAdmission::ProbeAdmission(std::size_t limit, Loop& loop)
    : ProbeAdmission(limit, [&loop](std::function<void()> task) { loop.post(std::move(task)); }) {
}

ProbeAdmission::~ProbeAdmission() {
    // Slots and tickets point here: their owners are destroyed first (see the header).
    assert(in_use_ == 0);
    for (auto& waiter : waiters_) {
        waiter.ticket->owner_ = nullptr;
    }
}

ProbeAdmission::Slot ProbeAdmission::try_acquire() {
    if (in_use_ >= limit_ || !waiters_.empty()) {
        return Slot();
    }
    ++in_use_;
    return Slot(this);
}

ProbeAdmission::Ticket ProbeAdmission::enqueue(Grant grant) {
    Ticket ticket;
    ticket.owner_ = this;
    ticket.it_ = waiters_.insert(waiters_.end(), Ticket::Waiter{std::move(grant), &ticket});
    // The caller may queue with a slot free (others were waiting when it asked): a drain is due.
    if (in_use_ < limit_) {
        request_drain();
    }
    // Moved out: the move constructor points the waiter at the caller's ticket.
    return ticket;
}

void ProbeAdmission::count_rejected(const std::string& reason) {
    ++rejected_[reason];
}

std::uint64_t ProbeAdmission::rejected(const std::string& reason) const {
    const auto it = rejected_.find(reason);
    return it == rejected_.end() ? 0 : it->second;
}

void ProbeAdmission::release_one() {
    assert(in_use_ > 0);
    --in_use_;
    if (!waiters_.empty()) {
        request_drain();
    }
}

void ProbeAdmission::request_drain() {
    if (drain_pending_) {
        return;
    }
    drain_pending_ = true;
    defer_([this, alive = alive_.watch()] {
        if (alive.expired()) {
            return;
        }
        drain_pending_ = false;
        drain();
    });
}

void ProbeAdmission::drain() {
    while (in_use_ < limit_ && !waiters_.empty()) {
        Ticket::Waiter& front = waiters_.front();
        Grant grant = std::move(front.grant);
        front.ticket->owner_ = nullptr;
        waiters_.pop_front();
        ++in_use_;
        // The grant may queue, release or start anything: nothing of the loop state is held.
        grant(Slot(this));
    }
}

void ProbeAdmission::collect(std::map<std::string, prometheus::MetricFamily>& families) const {
    auto rejected = single_value_family(
        "sonde_probe_requests_rejected_total",
        "/probe requests refused with 503 before probing, by reason (concurrency: every slot of "
        "--probe.max-concurrent was taken).",
        0, prometheus::MetricType::Counter);
    rejected.metric.clear();
    for (const auto& [reason, count] : rejected_) {
        auto one = single_value_family("sonde_probe_requests_rejected_total", "",
                                       static_cast<double>(count), prometheus::MetricType::Counter,
                                       {{"reason", reason}});
        rejected.metric.push_back(std::move(one.metric.front()));
    }
    families["sonde_probe_requests_rejected_total"] = std::move(rejected);
    families["sonde_probe_concurrency_limit"] = single_value_family(
        "sonde_probe_concurrency_limit",
        "Probes in flight at most (--probe.max-concurrent), /probe and scheduled together.",
        static_cast<double>(limit_));
    families["sonde_probes_waiting"] = single_value_family(
        "sonde_probes_waiting",
        "Scheduled runs due but waiting for a free slot of --probe.max-concurrent.",
        static_cast<double>(waiters_.size()));
}

}  // namespace sonde::app

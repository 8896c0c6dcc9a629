#include "prober/app/probe_history.hpp"

#include <algorithm>

namespace sonde::app {

std::uint64_t ProbeHistory::add(ProbeHistoryEntry entry) {
    const std::uint64_t id = next_id_++;
    if (limit_ == 0) {
        return id;
    }
    entry.id = id;
    recent_.push_back(std::move(entry));
    if (recent_.size() > limit_) {
        ProbeHistoryEntry evicted = std::move(recent_.front());
        recent_.pop_front();
        if (!evicted.success) {
            failed_.push_back(std::move(evicted));
            if (failed_.size() > limit_) {
                failed_.pop_front();
            }
        }
    }
    return id;
}

std::vector<const ProbeHistoryEntry*> ProbeHistory::list() const {
    std::vector<const ProbeHistoryEntry*> out;
    out.reserve(recent_.size() + failed_.size());
    for (const auto& e : recent_) {
        out.push_back(&e);
    }
    for (const auto& e : failed_) {
        out.push_back(&e);
    }
    std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->id > b->id; });
    return out;
}

const ProbeHistoryEntry* ProbeHistory::by_id(std::uint64_t id) const {
    for (const auto* e : list()) {
        if (e->id == id) {
            return e;
        }
    }
    return nullptr;
}

const ProbeHistoryEntry* ProbeHistory::by_target(
    const std::string& target, const std::optional<std::string>& module_name) const {
    for (const auto* e : list()) {
        if (e->target == target && (!module_name || e->module_name == *module_name)) {
            return e;
        }
    }
    return nullptr;
}

}  // namespace sonde::app

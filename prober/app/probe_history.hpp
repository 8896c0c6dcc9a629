#pragma once

// ProbeHistory: the recent probes shown on the status page and served by /logs, as the
// exporter's history: the last `limit` results, plus failures pushed out of that window kept in
// a second list of the same size, so a recent failure stays visible among many successes.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prober/core/probe_log.hpp"

namespace sonde {
namespace config {
struct Config;
}

namespace app {

// What the debug page of a past probe is made from. The page itself is only rendered when
// someone asks (/logs): rendering it for every probe would cost more than many probes do.
struct ProbeHistoryEntry {
    std::uint64_t id = 0;
    std::string module_name;
    std::string target;
    bool success = false;
    ProbeLogLines log;  // formatted only when /logs shows it
    std::string metrics_text;
    std::shared_ptr<const config::Config> config;  // the config the probe ran with
};

class ProbeHistory {
public:
    explicit ProbeHistory(std::size_t limit) : limit_(limit) {}

    std::uint64_t add(ProbeHistoryEntry entry);  // the id is assigned here

    // Newest first, recent and retained failures merged by id.
    std::vector<const ProbeHistoryEntry*> list() const;
    const ProbeHistoryEntry* by_id(std::uint64_t id) const;
    // The newest probe of target (and of module, when given).
    const ProbeHistoryEntry* by_target(const std::string& target,
                                       const std::optional<std::string>& module_name) const;

private:
    std::size_t limit_;
    std::uint64_t next_id_ = 0;
    std::deque<ProbeHistoryEntry> recent_;
    std::deque<ProbeHistoryEntry> failed_;
};

}  // namespace app
}  // namespace sonde

#pragma once

// Rendering of `sonde check` results: what a person wants to see of one probe (success, each
// phase with its time, the facts, the reason of a failure) as text or as JSON. Pure: the
// inputs are the probe's report and registry, nothing here touches the loop or the terminal.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace prometheus {
class Registry;
}

namespace sonde::app {

struct CheckResult {
    std::string module;
    std::string target;
    bool success = false;
    double duration_seconds = 0;
    std::string detail;  // the failure reason; empty on success
    std::shared_ptr<prometheus::Registry> registry;
};

// One row of the phases or facts: a name and its value as text (facts keep their raw number
// too, for JSON).
struct CheckPhase {
    std::string name;  // e.g. "http connect", "resolve"
    double seconds = 0;
};

struct CheckFact {
    std::string name;  // the metric name without "probe_", with its labels
    std::string text;  // the value as shown to a person (dates, versions)
    double value = 0;
};

struct CheckSummary {
    std::vector<CheckPhase> phases;
    std::vector<CheckFact> facts;
};

// The phases and facts of a probe's registry. Phases: every *_duration_seconds{phase} series
// and probe_dns_lookup_time_seconds (as "resolve"); facts: every other probe_* series except
// probe_success, probe_duration_seconds and probe_timeout_seconds.
CheckSummary summarise_registry(const prometheus::Registry& registry);

// A Unix time as "2026-11-25 19:16:46 UTC".
std::string format_unix_time(double seconds);

// The result as text lines; with colour, OK/FAIL are green/red (ANSI escapes).
std::string render_check_text(const CheckResult& result, bool colour);

// The result as one JSON object: module, target, success, duration_seconds, phases (name to
// seconds), facts (name to number or text), reason (only on failure).
nlohmann::ordered_json check_json(const CheckResult& result);

// "3 targets, 9 probes, 8 succeeded, 1 failed".
std::string render_check_summary(std::size_t targets, std::size_t probes, std::size_t failed);

}  // namespace sonde::app

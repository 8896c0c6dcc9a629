#pragma once

// What /metrics shows for scheduled targets, kept per target as a compact record and rendered
// at scrape time (a prometheus-cpp registry per target would cost about 4 KB each).
//
// For each target: its last result's blackbox metrics (probe_success, probe_http_*, ... with
// the exporter's names and meanings), while that result is fresh; and sonde's own cumulative
// series, which Prometheus can rate and aggregate:
//   sonde_target_probes_total{result="success"|"failure"}   counter
//   sonde_target_probe_duration_seconds                     histogram
//   sonde_target_last_run_timestamp_seconds                 gauge (unix time the last run ended)
//   sonde_target_failure_reason{reason=...}                 1 for the last run, when it failed
// Every series carries target, module, then the target's identity labels (namespace, kind,
// name for Kubernetes objects; a static group's labels). When one of those has the name of a
// label the probe metric itself has (phase, server, ...), the probe metric's own label wins.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "discovery/target.hpp"
#include "modules/probe.hpp"

namespace prometheus {
class Registry;
}

namespace sonde::app {

struct SampleShape;

// Interns the metadata of metric families, so a recorded sample holds one pointer, not copies
// of the name and help text, and the shapes of recorded results (which families, with which
// labels), so targets whose probes yield the same series share one. Families live as long as
// the table; a shape lives as long as a record uses it.
class FamilyTable {
public:
    struct Family {
        std::string name;
        std::string help;
        prometheus::MetricType type;
        std::uint32_t name_id;  // equal for families of the same name (help or type may differ)
    };
    const Family* intern(const std::string& name, const std::string& help,
                         prometheus::MetricType type);
    std::size_t size() const { return families_.size(); }
    // Every distinct family name, by name_id.
    const std::vector<std::string>& names() const { return names_; }
    // The name_id of a name, or -1 when no family has it.
    std::int64_t name_id(const std::string& name) const;

    // The shared shape equal to `shape` (`key` identifies it).
    std::shared_ptr<const SampleShape> intern_shape(const std::string& key, SampleShape&& shape);
    std::size_t shapes() const { return shapes_.size(); }

private:
    std::map<std::string, std::unique_ptr<Family>> families_;  // by name, type and help
    std::map<std::string, std::uint32_t, std::less<>> name_ids_;
    std::vector<std::string> names_;
    std::map<std::string, std::weak_ptr<const SampleShape>> shapes_;
    std::size_t shapes_pruned_at_ = 64;  // drop expired shapes when the table grows past this
};

// The series of one probe result without their values: most targets of a module share one.
struct SampleShape {
    struct Series {
        const FamilyTable::Family* family = nullptr;
        std::vector<prometheus::ClientMetric::Label> labels;
    };
    std::vector<Series> series;
};

// A probe result's samples: the shared shape and this result's values, one per series.
struct RecordedSamples {
    std::shared_ptr<const SampleShape> shape;  // null: no samples
    std::vector<double> values;
};

// The gauges, counters and untyped samples of a probe's registry (probe metrics have no
// histograms or summaries).
RecordedSamples record_registry(const prometheus::Registry& registry, FamilyTable& table);

inline constexpr std::array<double, 12> kDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2.5,   5,    10,  30};

struct TargetRecord {
    // Cumulative, since the target was first scheduled.
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    // Not cumulative; 32 bits last 136 years at one run a second.
    std::array<std::uint32_t, kDurationBuckets.size()> bucket_counts{};
    double duration_sum = 0;
    // The last run.
    bool has_result = false;
    bool last_success = false;
    modules::FailureKind last_failure = modules::FailureKind::None;
    double last_run_unix = 0;
    RecordedSamples last_samples;

    void add_run(bool success, modules::FailureKind failure, double duration_seconds,
                 double finished_unix, RecordedSamples samples);
};

// Appends one target's series to `families` (keyed by family name). `fresh` says whether the
// last result is recent enough to show its blackbox metrics. Builds prometheus-cpp objects: the
// reference rendering, for tests and small sets; /metrics uses append_target_lines().
void append_target_series(std::map<std::string, prometheus::MetricFamily>& families,
                          const discovery::Target& target, const TargetRecord& record, bool fresh);

// The families every target with a result has, besides its probe's own.
inline constexpr std::array<const char*, 4> kTargetFamilyNames = {
    "sonde_target_failure_reason", "sonde_target_last_run_timestamp_seconds",
    "sonde_target_probe_duration_seconds", "sonde_target_probes_total"};

// Which family append_target_lines() writes: one of kTargetFamilyNames (own = its index), or
// the recorded probe families with this FamilyTable name_id (own = -1).
struct FamilySelector {
    int own = -1;
    std::uint32_t name_id = 0;
    std::string_view name;
};

// Appends the text lines of one family for one target, exactly as append_target_series()
// followed by render_families() writes them. When the target has a line of the family and
// header_written is false, the family's HELP/TYPE lines go first and header_written is set.
void append_target_lines(std::string& out, const FamilySelector& family,
                         const discovery::Target& target, const TargetRecord& record, bool fresh,
                         bool& header_written);

}  // namespace sonde::app

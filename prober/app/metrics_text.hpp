#pragma once

// Rendering metrics in the Prometheus text format (0.0.4), families sorted by name as the
// exporter's Gather() does, so /probe output lines up with blackbox_exporter's line by line.
//
// Two ways to render: render_families() builds the whole text at once from prometheus-cpp
// families (prometheus-cpp's TextSerializer), fine for /probe and small sets; SlicedRender
// produces the same text piece by piece, for /metrics with many scheduled targets, where
// building it at once would block the loop for a long time and hold the whole body (hundreds of
// MB at 100,000 targets) in memory. The append_* writers below produce exactly the bytes
// TextSerializer does (tests compare them).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace prometheus {
class Registry;
}

namespace sonde::app {

// A family with one gauge (or counter) sample: for metrics computed at scrape time.
prometheus::MetricFamily single_value_family(
    const char* name, const char* help, double value,
    prometheus::MetricType type = prometheus::MetricType::Gauge,
    std::vector<prometheus::ClientMetric::Label> labels = {});

std::string render_families(std::vector<prometheus::MetricFamily> families);
std::string render_registry(const prometheus::Registry& registry);

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// ---- Writers with TextSerializer's exact output ----

// A sample value: "%.16g", with Nan, +Inf and -Inf spelled as prometheus-cpp does.
void append_value(std::string& out, double value);
// A label value, with backslash, double quote and newline escaped.
void append_label_value(std::string& out, std::string_view value);
// name="value", escaped.
void append_label(std::string& out, std::string_view name, std::string_view value);
// "# HELP" (when help is not empty) and "# TYPE" lines.
void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          prometheus::MetricType type);
// One whole family, as TextSerializer writes it.
void append_family(std::string& out, const prometheus::MetricFamily& family);

// ---- Rendering piece by piece ----

// Where a SeriesSource stopped inside one family; opaque to SlicedRender.
struct SeriesCursor {
    bool started = false;
    bool header_written = false;  // the family's HELP/TYPE lines are out
    std::string next_key;         // the source's own position (a target key)
};

// Families with very many samples (scheduled targets' series), rendered a piece at a time.
// The source must tolerate changes between two calls (targets added or removed): each call
// continues from the cursor's position in whatever set exists then.
class SeriesSource {
public:
    virtual ~SeriesSource() = default;
    // The names of the families this source may render, in any order, without duplicates.
    virtual std::vector<std::string> family_names() const = 0;
    // Appends the lines of family `name` from `cursor` on (its HELP/TYPE lines first, if the
    // family has any sample at all), stopping once `out` has grown by about `budget` bytes or
    // the source has done a slice's worth of work. Returns true when the family is complete.
    virtual bool render(const std::string& name, SeriesCursor& cursor, std::string& out,
                        std::size_t budget) = 0;
};

// The text of a set of families, in name order, produced in pieces. Families built up front
// (self-metrics, process metrics: small) and a SeriesSource's families are merged by name; on a
// name present in both, the built family comes first. Output equals render_families() of all
// of them when nothing changes between pieces.
class SlicedRender {
public:
    SlicedRender(std::vector<prometheus::MetricFamily> families,
                 std::unique_ptr<SeriesSource> series);

    // Appends the next piece (about `budget` bytes; more when one family of the built ones is
    // bigger). Returns false once the text is complete: nothing more will be appended.
    bool next(std::string& out, std::size_t budget);

private:
    struct Item {
        std::string name;
        const prometheus::MetricFamily* built = nullptr;  // else: the series source's family
    };
    std::vector<prometheus::MetricFamily> built_;
    std::unique_ptr<SeriesSource> series_;
    std::vector<Item> items_;
    std::size_t index_ = 0;
    SeriesCursor cursor_;
};

// Runs a SlicedRender to completion (tests, and bodies small enough to send at once).
std::string render_all(SlicedRender& render);

}  // namespace sonde::app

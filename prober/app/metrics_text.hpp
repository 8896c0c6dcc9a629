#pragma once

// Rendering metrics in the Prometheus text format (0.0.4), families sorted by name as the
// exporter's Gather() does, so /probe output lines up with blackbox_exporter's line by line.

#include <string>
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

}  // namespace sonde::app

#include "tests/support/metric_value.hpp"

#include <prometheus/metric_family.h>

namespace sonde::test {
namespace {

LabelMap labels_of(const prometheus::ClientMetric& metric) {
    LabelMap labels;
    for (const auto& label : metric.label) {
        labels[label.name] = label.value;
    }
    return labels;
}

}  // namespace

std::optional<double> metric_value(const prometheus::Registry& registry, const std::string& name,
                                   const LabelMap& labels) {
    for (const prometheus::MetricFamily& family : registry.Collect()) {
        if (family.name != name) {
            continue;
        }
        for (const prometheus::ClientMetric& metric : family.metric) {
            if (labels_of(metric) != labels) {
                continue;
            }
            switch (family.type) {
                case prometheus::MetricType::Gauge:
                    return metric.gauge.value;
                case prometheus::MetricType::Counter:
                    return metric.counter.value;
                case prometheus::MetricType::Untyped:
                    return metric.untyped.value;
                default:
                    return std::nullopt;
            }
        }
    }
    return std::nullopt;
}

std::vector<LabelMap> metric_label_sets(const prometheus::Registry& registry,
                                        const std::string& name) {
    std::vector<LabelMap> sets;
    for (const prometheus::MetricFamily& family : registry.Collect()) {
        if (family.name == name) {
            for (const prometheus::ClientMetric& metric : family.metric) {
                sets.push_back(labels_of(metric));
            }
        }
    }
    return sets;
}

std::optional<std::string> metric_help(const prometheus::Registry& registry,
                                       const std::string& name) {
    for (const prometheus::MetricFamily& family : registry.Collect()) {
        if (family.name == name) {
            return family.help;
        }
    }
    return std::nullopt;
}

}  // namespace sonde::test

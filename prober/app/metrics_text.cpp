#include "prober/app/metrics_text.hpp"

#include <algorithm>
#include <sstream>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace sonde::app {

prometheus::MetricFamily single_value_family(const char* name, const char* help, double value,
                                             prometheus::MetricType type,
                                             std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = type;
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
    } else {
        metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
    return family;
}

std::string render_families(std::vector<prometheus::MetricFamily> families) {
    std::stable_sort(families.begin(), families.end(),
                     [](const auto& a, const auto& b) { return a.name < b.name; });
    // Families with no metric would print a lone HELP/TYPE; the exporter omits them.
    families.erase(std::remove_if(families.begin(), families.end(),
                                  [](const auto& f) { return f.metric.empty(); }),
                   families.end());
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

std::string render_registry(const prometheus::Registry& registry) {
    return render_families(registry.Collect());
}

}  // namespace sonde::app

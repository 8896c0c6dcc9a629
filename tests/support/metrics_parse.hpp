#pragma once

// Parses Prometheus text exposition into "name{label="v",...}" -> value, labels sorted by
// name, so that outputs of sonde and of the reference exporter can be compared sample by
// sample regardless of label order or float formatting.

#include <map>
#include <set>
#include <string>

namespace sonde::test {

using Samples = std::map<std::string, double>;

Samples parse_samples(const std::string& exposition);
// The metric names (families) present.
std::set<std::string> metric_names(const Samples& samples);
// The sample's value, or fallback when it is absent (-1: no metric sonde exports is negative).
double sample_or(const Samples& samples, const std::string& key, double fallback = -1);

}  // namespace sonde::test

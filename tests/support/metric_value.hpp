#pragma once

// Reading a probe's metrics back from its prometheus::Registry, for assertions on values rather
// than on log text (Envoy's habit).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/registry.h>

namespace sonde::test {

using LabelMap = std::map<std::string, std::string>;

// The value of the gauge, counter or untyped series `name` whose labels are exactly `labels`;
// nullopt when there is no such series (or it is a histogram or summary).
std::optional<double> metric_value(const prometheus::Registry& registry, const std::string& name,
                                   const LabelMap& labels = {});

// The label sets of every series of `name` (empty when the family is absent).
std::vector<LabelMap> metric_label_sets(const prometheus::Registry& registry,
                                        const std::string& name);

// The HELP text of family `name`, nullopt when absent.
std::optional<std::string> metric_help(const prometheus::Registry& registry,
                                       const std::string& name);

}  // namespace sonde::test

#pragma once

// The probe deadline, computed in one place exactly as the exporter's getTimeout
// (reference §3.3): the Prometheus scrape timeout header minus --timeout-offset, with the
// module's own timeout winning when it is smaller, or when the offset made the budget negative.

#include <optional>
#include <string_view>

#include "config/result.hpp"

namespace sonde::app {

// Parses X-Prometheus-Scrape-Timeout-Seconds as Go's strconv.ParseFloat would. An absent
// header is nullopt (not an error).
[[nodiscard]] Result<std::optional<double>> parse_scrape_timeout_header(
    std::optional<std::string_view> header);

// Effective probe timeout in seconds. scrape_timeout: the parsed header (nullopt or 0 → 120 s).
double effective_timeout_seconds(std::optional<double> scrape_timeout, double timeout_offset,
                                 double module_timeout_seconds);

// Scheduled probes have no scrape header: the module timeout, else the interval minus the
// offset, never more than the interval.
double scheduled_timeout_seconds(double interval_seconds, double timeout_offset,
                                 double module_timeout_seconds);

}  // namespace sonde::app

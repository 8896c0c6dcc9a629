#pragma once

// The exporter's `debug=true` page (and /logs): the probe's log, the metrics it would have
// returned and its module's configuration, with the exporter's exact separators.

#include <string>

#include "config/config.hpp"
#include "prober/core/probe_log.hpp"

namespace sonde::app {

std::string debug_output(const std::string& log, const std::string& metrics_text,
                         const config::Module* module);
// The same, formatting the kept log lines now.
std::string debug_output(const ProbeLogLines& log, const std::string& metrics_text,
                         const config::Module* module);

}  // namespace sonde::app

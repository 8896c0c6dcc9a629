#pragma once

// The HTML status page at `/`: links to a sample probe, its debug page, /metrics and /config,
// and the table of recent probes, newest first, linking to their logs (as the exporter's).

#include <string>
#include <vector>

#include "prober/app/probe_history.hpp"

namespace sonde::app {

std::string render_status_page(const std::string& route_prefix,
                               const std::vector<const ProbeHistoryEntry*>& recent);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace sonde::app

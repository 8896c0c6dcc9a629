#pragma once

// Go's time.Duration text form, as the exporter reads `timeout` (time.ParseDuration) and prints
// it on /config (Duration.String). Kept apart from the YAML code so the tables can test it alone.

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/result.hpp"

namespace sonde::config {

// Accepts `[-+]?([0-9]*(\.[0-9]*)?unit)+` with units ns, us, µs, μs, ms, s, m, h, plus the lone
// "0", exactly as time.ParseDuration. No d/w/y: the exporter does not take them either.
[[nodiscard]] Result<Duration> parse_go_duration(std::string_view text);

// Go's Duration.String(): "0s", "500ms", "1.5s", "1m30s", "1h0m0s", "100µs".
std::string format_go_duration(Duration duration);

}  // namespace sonde::config

#pragma once

// Sizes as the exporter reads `body_size_limit` (alecthomas/units Base2Bytes): every unit is
// base 2, so "1MB" is 1048576, as upstream users expect.

#include <cstdint>
#include <string>
#include <string_view>

#include "config/result.hpp"

namespace sonde::config {

// Accepts `[-+]?([0-9]*(\.[0-9]*)?unit)+` with units B, KB..EB, KiB..EiB (all base 2) and the
// lone "0"; a bare number is "unknown unit", lower-case "kB" is refused (units.ParseBase2Bytes).
[[nodiscard]] Result<std::int64_t> parse_base2_bytes(std::string_view text);

// Base2Bytes.String(): 1048576 -> "1MiB", 1536 -> "1KiB512B", 0 -> "0B".
std::string format_base2_bytes(std::int64_t bytes);

}  // namespace sonde::config

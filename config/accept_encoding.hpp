#pragma once

// The exporter's check that a configured `compression` is acceptable to a configured
// `Accept-Encoding` header (config.go isCompressionAcceptEncodingValid).

#include <string_view>

namespace sonde::config {

// True when compression or header is empty, or when, after a stable sort of the header's
// entries by quality (default 1), the first entry naming compression or `*` has q > 0.
bool is_compression_acceptable(std::string_view compression, std::string_view accept_encoding);

}  // namespace sonde::config

#pragma once

// gzip (RFC 1952) compression and decompression with zlib, for HTTP bodies.

#include <cstddef>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"

namespace sonde::net {

// Compresses data into one gzip member at zlib's default level.
Result<std::string> gzip_compress(std::string_view data);

// Decompresses a gzip stream (concatenated members allowed). Fails when the input is not gzip,
// is truncated, or would inflate beyond max_output bytes (a decompression bomb).
Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output);

}  // namespace sonde::net

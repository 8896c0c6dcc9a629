#pragma once

// Encoders for test bodies: what a server would send with Content-Encoding deflate (raw
// DEFLATE, RFC 1951, as Go's flate reads it), br and gzip. REQUIREs success.

#include <string>

namespace sonde::test {

std::string deflate_raw(const std::string& data);
std::string brotli_compress(const std::string& data);
std::string gzip_compress(const std::string& data);

}  // namespace sonde::test

#pragma once

// The response body as the exporter reads it: optionally decoded with the module's
// `compression` (whatever Content-Encoding says), then cut at `body_size_limit` the way Go's
// http.MaxBytesReader does. Pure functions over a body already received in full.

#include <cstdint>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"

namespace sonde::modules::http {

enum class Compression { Identity, Gzip, Brotli, Deflate };

// `compression` from the module, case-insensitive: "" and "identity" (no decoding), "gzip",
// "br", "deflate" (raw DEFLATE, RFC 1951, as Go's compress/flate). Anything else fails with the
// exporter's text "unsupported compression algorithm".
Result<Compression> compression_from_config(std::string_view name);

// Whether the decoder can be created at all. Go's gzip.NewReader reads the member header at
// once, so a body that does not start with one ("gzip: invalid header", "EOF" when empty) fails
// here, which the exporter reports as "Failed to get decompressor for HTTP response body".
// The other algorithms only fail while reading.
Result<void> start_decoder(Compression compression, std::string_view raw);

struct BodyRead {
    std::string body;   // the bytes read, decoded; at most `limit` when a limit is set
    std::string error;  // empty when the body was read to its end, else the reader's error
};

// Reads the whole body through the decoder and the limit (limit <= 0: none). Errors:
//   "http: request body too large"  more than `limit` decoded bytes (body holds exactly limit)
//   "unexpected EOF"                 a truncated compressed stream
//   "gzip: invalid header"           trailing bytes after a gzip member that are not another
//   "gzip: invalid checksum", "flate: corrupt input", "brotli: corrupt input"
// Decoding stops after limit + 1 bytes, so a decompression bomb costs no more than the limit.
// Without a limit the output is capped at max_output bytes (a sonde guard; reported as
// "http: request body too large").
BodyRead read_body(Compression compression, std::string_view raw, std::int64_t limit,
                   std::size_t max_output = std::size_t{1} << 30U);

}  // namespace sonde::modules::http

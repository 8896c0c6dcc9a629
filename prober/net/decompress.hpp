#pragma once

// Decompression of response bodies for the http prober's `compression` option, as the exporter
// does it (prober/http.go): "gzip" (RFC 1952, several members allowed, as Go's gzip.Reader),
// "deflate" (RAW DEFLATE, RFC 1951: the exporter uses flate.NewReader, not zlib's wrapper),
// "br" (brotli) and "identity" (unchanged). Algorithm names are case-insensitive.
//
// Every decoder stops once its output would pass max_output bytes, so a small compressed body
// (a decompression bomb) cannot grow memory beyond the cap; that outcome is TooLarge, distinct
// from Corrupt input, because the module reports "body size limit exceeded" for the one and a
// decoding error for the other. Plain functions, no loop affinity.

#include <cstddef>
#include <string>
#include <string_view>

namespace sonde::net {

enum class DecompressStatus {
    Ok,
    Corrupt,      // not valid data for the algorithm, or truncated
    TooLarge,     // the output would exceed max_output
    Unsupported,  // an algorithm the exporter does not know
};

struct DecompressResult {
    DecompressStatus status = DecompressStatus::Ok;
    // The output: all of it, or up to the cap when TooLarge, or what was decoded before the
    // error when Corrupt (Go's io.Copy counts those bytes too).
    std::string data;
    // Go's texts where Go has one: "unexpected EOF" (truncated), "EOF" (an empty gzip body),
    // "gzip: invalid header" (also for trailing bytes that are not another member),
    // "gzip: invalid checksum", "flate: corrupt input", "brotli: corrupt input",
    // "unsupported compression algorithm"; TooLarge says "<algorithm>: decompressed body
    // exceeds N bytes".
    std::string error;

    bool ok() const { return status == DecompressStatus::Ok; }
};

// Whether data starts with a gzip member's magic and DEFLATE method (1f 8b 08).
bool is_gzip_member_start(std::string_view data);

// True for gzip, deflate, br and identity (any case).
bool is_supported_compression(std::string_view algorithm);

DecompressResult decompress(std::string_view algorithm, std::string_view data,
                            std::size_t max_output);

DecompressResult gunzip(std::string_view data, std::size_t max_output);
DecompressResult inflate_raw(std::string_view data, std::size_t max_output);
DecompressResult brotli_decompress(std::string_view data, std::size_t max_output);

}  // namespace sonde::net

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
    std::string data;   // the output (up to the cap when TooLarge; empty otherwise on failure)
    std::string error;  // for a person: "gzip: invalid header", "unsupported compression ..."

    bool ok() const { return status == DecompressStatus::Ok; }
};

// True for gzip, deflate, br and identity (any case).
bool is_supported_compression(std::string_view algorithm);

DecompressResult decompress(std::string_view algorithm, std::string_view data,
                            std::size_t max_output);

DecompressResult gunzip(std::string_view data, std::size_t max_output);
DecompressResult inflate_raw(std::string_view data, std::size_t max_output);
DecompressResult brotli_decompress(std::string_view data, std::size_t max_output);

}  // namespace sonde::net

#pragma once

// gzip (RFC 1952) compression and decompression with zlib, for HTTP bodies.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"

namespace sonde::net {

// Compresses data into one gzip member at zlib's default level.
Result<std::string> gzip_compress(std::string_view data);

// Compresses a body piece by piece into one gzip member, for bodies sent as they are produced.
// Holds zlib's state (about 270 KB at the default memory level); one per streamed body.
class GzipStream {
public:
    explicit GzipStream(int level);
    ~GzipStream();
    GzipStream(const GzipStream&) = delete;
    GzipStream& operator=(const GzipStream&) = delete;

    // Compresses data and appends what zlib emits to out; finish ends the member (nothing may
    // be written after it). Fails only on zlib errors (out of memory).
    Result<void> write(std::string_view data, bool finish, std::string& out);

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Decompresses a gzip stream (concatenated members allowed). Fails when the input is not gzip,
// is truncated, or would inflate beyond max_output bytes (a decompression bomb).
Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output);

}  // namespace sonde::net

#pragma once

// gzip (RFC 1952) compression with zlib, for the bodies sonde serves (decompress.hpp reads them).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"

namespace sonde::net {

// zlib's window bits selecting the gzip wrapper: 15 bits plus 16 (zlib.h, deflateInit2).
constexpr int kGzipWindowBits = 15 + 16;

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

}  // namespace sonde::net

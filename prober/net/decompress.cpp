#include "prober/net/decompress.hpp"

#include <array>
#include <limits>

#include <brotli/decode.h>
#include <zlib.h>

#include "prober/net/gzip.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::net {
namespace {

constexpr std::size_t kInflateChunk = 16 * 1024;
// Negative window bits select raw DEFLATE (zlib.h, inflateInit2); gzip.hpp has the gzip ones.
constexpr int kRawWindowBits = -15;

DecompressResult failure(DecompressStatus status, std::string error, std::string data = {}) {
    return DecompressResult{status, std::move(data), std::move(error)};
}

DecompressResult too_large(const char* name, std::size_t max_output, std::string data) {
    return failure(
        DecompressStatus::TooLarge,
        std::string(name) + ": decompressed body exceeds " + std::to_string(max_output) + " bytes",
        std::move(data));
}

// Go's text for what zlib reports as Z_DATA_ERROR (compress/gzip and compress/flate).
std::string go_zlib_error(bool gzip, const char* zlib_message) {
    const std::string_view msg = zlib_message != nullptr ? zlib_message : "";
    if (gzip && (msg == "incorrect data check" || msg == "incorrect length check")) {
        return "gzip: invalid checksum";
    }
    if (gzip && (msg == "incorrect header check" || msg == "unknown compression method" ||
                 msg == "unknown header flags set" || msg == "header crc mismatch")) {
        return "gzip: invalid header";
    }
    return "flate: corrupt input";
}

// One zlib inflate loop for gzip (members one after the other) and raw DEFLATE.
DecompressResult zlib_inflate(const char* name, int window_bits, std::string_view data,
                              std::size_t max_output) {
    if (data.size() > std::numeric_limits<uInt>::max()) {
        return failure(DecompressStatus::Corrupt, std::string(name) + ": input too large");
    }
    const bool gzip = window_bits == kGzipWindowBits;
    z_stream z{};
    if (inflateInit2(&z, window_bits) != Z_OK) {
        return failure(DecompressStatus::Corrupt, std::string(name) + ": cannot start zlib");
    }
    // zlib's API is not const-correct; inflate never writes through next_in.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    std::string out;
    std::array<char, kInflateChunk> chunk{};
    DecompressResult result;
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(chunk.data());
        z.avail_out = static_cast<uInt>(chunk.size());
        const int rc = inflate(&z, Z_NO_FLUSH);
        const std::size_t produced = chunk.size() - z.avail_out;
        if (out.size() + produced > max_output) {
            out.append(chunk.data(), max_output - out.size());
            result = too_large(name, max_output, std::move(out));
            break;
        }
        out.append(chunk.data(), produced);
        if (rc == Z_STREAM_END) {
            // Go's gzip.Reader reads the next member when bytes follow and fails on anything
            // else there; flate.Reader stops at the final block and ignores the rest.
            if (!gzip || z.avail_in == 0) {
                result = DecompressResult{DecompressStatus::Ok, std::move(out), {}};
                break;
            }
            const std::string_view rest(reinterpret_cast<const char*>(z.next_in), z.avail_in);
            if (!is_gzip_member_start(rest)) {
                result = failure(DecompressStatus::Corrupt, "gzip: invalid header", std::move(out));
                break;
            }
            inflateReset(&z);
            continue;
        }
        if (rc == Z_BUF_ERROR || (rc == Z_OK && z.avail_in == 0 && produced == 0)) {
            result = failure(DecompressStatus::Corrupt, "unexpected EOF", std::move(out));
            break;
        }
        if (rc != Z_OK) {
            result = failure(DecompressStatus::Corrupt,
                             rc == Z_DATA_ERROR ? go_zlib_error(gzip, z.msg)
                                                : std::string("flate: corrupt input"),
                             std::move(out));
            break;
        }
    }
    inflateEnd(&z);
    return result;
}

}  // namespace

bool is_gzip_member_start(std::string_view data) {
    return data.size() >= 3 && static_cast<unsigned char>(data[0]) == 0x1f &&
           static_cast<unsigned char>(data[1]) == 0x8b && static_cast<unsigned char>(data[2]) == 8;
}

bool is_supported_compression(std::string_view algorithm) {
    return iequals(algorithm, "gzip") || iequals(algorithm, "deflate") ||
           iequals(algorithm, "br") || iequals(algorithm, "identity");
}

DecompressResult gunzip(std::string_view data, std::size_t max_output) {
    if (data.empty()) {
        return failure(DecompressStatus::Corrupt, "EOF");
    }
    return zlib_inflate("gzip", kGzipWindowBits, data, max_output);
}

DecompressResult inflate_raw(std::string_view data, std::size_t max_output) {
    return zlib_inflate("flate", kRawWindowBits, data, max_output);
}

DecompressResult brotli_decompress(std::string_view data, std::size_t max_output) {
    BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (state == nullptr) {
        return failure(DecompressStatus::Corrupt, "brotli: cannot start the decoder");
    }
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t avail_in = data.size();
    std::string out;
    std::array<std::uint8_t, kInflateChunk> chunk{};
    DecompressResult result;
    for (;;) {
        std::uint8_t* next_out = chunk.data();
        std::size_t avail_out = chunk.size();
        const BrotliDecoderResult rc = BrotliDecoderDecompressStream(
            state, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        const std::size_t produced = chunk.size() - avail_out;
        if (out.size() + produced > max_output) {
            out.append(reinterpret_cast<const char*>(chunk.data()), max_output - out.size());
            result = too_large("brotli", max_output, std::move(out));
            break;
        }
        out.append(reinterpret_cast<const char*>(chunk.data()), produced);
        if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
            result = DecompressResult{DecompressStatus::Ok, std::move(out), {}};
            break;
        }
        if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
            continue;
        }
        if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            result = failure(DecompressStatus::Corrupt, "unexpected EOF", std::move(out));
            break;
        }
        result = failure(DecompressStatus::Corrupt, "brotli: corrupt input", std::move(out));
        break;
    }
    BrotliDecoderDestroyInstance(state);
    return result;
}

DecompressResult decompress(std::string_view algorithm, std::string_view data,
                            std::size_t max_output) {
    if (iequals(algorithm, "gzip")) {
        return gunzip(data, max_output);
    }
    if (iequals(algorithm, "deflate")) {
        return inflate_raw(data, max_output);
    }
    if (iequals(algorithm, "br")) {
        return brotli_decompress(data, max_output);
    }
    if (iequals(algorithm, "identity")) {
        if (data.size() > max_output) {
            return too_large("identity", max_output, std::string(data.substr(0, max_output)));
        }
        return DecompressResult{DecompressStatus::Ok, std::string(data), {}};
    }
    return failure(DecompressStatus::Unsupported, "unsupported compression algorithm");
}

}  // namespace sonde::net

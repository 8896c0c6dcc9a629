#include "modules/http/body_decoder.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <brotli/decode.h>
#include <zlib.h>

namespace sonde::modules::http {
namespace {

constexpr std::size_t kChunk = 16384;
constexpr const char* kTooLarge = "http: request body too large";

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool has_gzip_magic(std::string_view data) {
    return data.size() >= 3 && static_cast<unsigned char>(data[0]) == 0x1f &&
           static_cast<unsigned char>(data[1]) == 0x8b && static_cast<unsigned char>(data[2]) == 8;
}

// Appends decoded output; returns false once more than cap bytes were produced.
bool append_capped(std::string& out, const char* data, std::size_t size, std::size_t cap) {
    const std::size_t room = cap - std::min(cap, out.size());
    out.append(data, std::min(size, room));
    return size <= room;
}

// zlib inflate for gzip (window bits 15 + 16, members in sequence) or raw deflate (-15).
BodyRead inflate_body(std::string_view raw, bool gzip, std::size_t cap) {
    BodyRead result;
    z_stream stream{};
    if (inflateInit2(&stream, gzip ? 15 + 16 : -15) != Z_OK) {
        result.error = "flate: corrupt input";
        return result;
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    stream.avail_in = static_cast<uInt>(raw.size());
    std::array<char, kChunk> buffer{};
    for (;;) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
        stream.avail_out = static_cast<uInt>(buffer.size());
        const int rc = inflate(&stream, Z_NO_FLUSH);
        const std::size_t produced = buffer.size() - stream.avail_out;
        if (!append_capped(result.body, buffer.data(), produced, cap)) {
            result.error = kTooLarge;
            break;
        }
        if (rc == Z_STREAM_END) {
            if (!gzip || stream.avail_in == 0) {
                break;
            }
            // Go's gzip reader is multistream: another member must follow.
            const std::string_view rest(reinterpret_cast<const char*>(stream.next_in),
                                        stream.avail_in);
            if (!has_gzip_magic(rest)) {
                result.error = "gzip: invalid header";
                break;
            }
            inflateReset(&stream);
            continue;
        }
        if (rc == Z_DATA_ERROR) {
            const std::string_view msg = stream.msg != nullptr ? stream.msg : "";
            result.error = msg.find("check") != std::string_view::npos ? "gzip: invalid checksum"
                                                                       : "flate: corrupt input";
            break;
        }
        if (rc == Z_BUF_ERROR || (rc == Z_OK && stream.avail_in == 0 && produced == 0)) {
            result.error = "unexpected EOF";
            break;
        }
        if (rc != Z_OK) {
            result.error = "flate: corrupt input";
            break;
        }
    }
    inflateEnd(&stream);
    return result;
}

BodyRead brotli_body(std::string_view raw, std::size_t cap) {
    BodyRead result;
    BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (state == nullptr) {
        result.error = "brotli: corrupt input";
        return result;
    }
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(raw.data());
    std::size_t avail_in = raw.size();
    std::array<char, kChunk> buffer{};
    for (;;) {
        auto* next_out = reinterpret_cast<std::uint8_t*>(buffer.data());
        std::size_t avail_out = buffer.size();
        const BrotliDecoderResult rc = BrotliDecoderDecompressStream(
            state, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        const std::size_t produced = buffer.size() - avail_out;
        if (!append_capped(result.body, buffer.data(), produced, cap)) {
            result.error = kTooLarge;
            break;
        }
        if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
            break;
        }
        if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            result.error = "unexpected EOF";
            break;
        }
        if (rc == BROTLI_DECODER_RESULT_ERROR) {
            result.error = "brotli: corrupt input";
            break;
        }
    }
    BrotliDecoderDestroyInstance(state);
    return result;
}

}  // namespace

Result<Compression> compression_from_config(std::string_view name) {
    const std::string key = lower(name);
    if (key.empty() || key == "identity") {
        return Compression::Identity;
    }
    if (key == "gzip") {
        return Compression::Gzip;
    }
    if (key == "br") {
        return Compression::Brotli;
    }
    if (key == "deflate") {
        return Compression::Deflate;
    }
    return unexpected("unsupported compression algorithm");
}

Result<void> start_decoder(Compression compression, std::string_view raw) {
    if (compression != Compression::Gzip) {
        return {};
    }
    if (raw.empty()) {
        return unexpected("EOF");
    }
    if (raw.size() < 10) {
        return unexpected("unexpected EOF");
    }
    if (!has_gzip_magic(raw)) {
        return unexpected("gzip: invalid header");
    }
    return {};
}

BodyRead read_body(Compression compression, std::string_view raw, std::int64_t limit,
                   std::size_t max_output) {
    // One byte past the limit tells "exactly limit" from "more than limit".
    const std::size_t cap =
        limit > 0 ? std::min(static_cast<std::size_t>(limit) + 1, max_output + 1) : max_output + 1;
    BodyRead result;
    switch (compression) {
        case Compression::Identity:
            result.body = std::string(raw.substr(0, cap));
            break;
        case Compression::Gzip:
            result = inflate_body(raw, true, cap);
            break;
        case Compression::Deflate:
            result = inflate_body(raw, false, cap);
            break;
        case Compression::Brotli:
            result = brotli_body(raw, cap);
            break;
    }
    if (result.body.size() >= cap) {
        result.body.resize(cap - 1);
        result.error = kTooLarge;
    }
    return result;
}

}  // namespace sonde::modules::http

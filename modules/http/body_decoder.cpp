#include "modules/http/body_decoder.hpp"

#include <algorithm>

#include "prober/net/decompress.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::modules::http {
namespace {

constexpr const char* kTooLarge = "http: request body too large";

const char* algorithm_name(Compression compression) {
    switch (compression) {
        case Compression::Gzip:
            return "gzip";
        case Compression::Deflate:
            return "deflate";
        case Compression::Brotli:
            return "br";
        case Compression::Identity:
            break;
    }
    return "identity";
}

}  // namespace

Result<Compression> compression_from_config(std::string_view name) {
    if (name.empty() || net::iequals(name, "identity")) {
        return Compression::Identity;
    }
    if (net::iequals(name, "gzip")) {
        return Compression::Gzip;
    }
    if (net::iequals(name, "br")) {
        return Compression::Brotli;
    }
    if (net::iequals(name, "deflate")) {
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
    if (!net::is_gzip_member_start(raw)) {
        return unexpected("gzip: invalid header");
    }
    return {};
}

BodyRead read_body(Compression compression, std::string_view raw, std::int64_t limit,
                   std::size_t max_output) {
    // The decoder stops one byte past the cap, which tells "exactly limit" from "more".
    const std::size_t cap =
        limit > 0 ? std::min(static_cast<std::size_t>(limit), max_output) : max_output;
    net::DecompressResult decoded = net::decompress(algorithm_name(compression), raw, cap);
    BodyRead result;
    result.body = std::move(decoded.data);
    if (decoded.status == net::DecompressStatus::TooLarge) {
        result.error = kTooLarge;
    } else if (!decoded.ok()) {
        result.error = std::move(decoded.error);
    }
    return result;
}

}  // namespace sonde::modules::http

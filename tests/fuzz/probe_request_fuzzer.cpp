// The /probe request as the exporter reads it: the request-target split into path and query
// (origin-form, absolute-form, "*"), the path percent-decoded, the query parsed as Go's
// url.ParseQuery (pairs, '=', '+', %XX, ';' refused), and the target decoded once more, as the
// exporter does for targets that were percent-encoded twice.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "prober/net/http_request.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace sonde::net;

void read_query(std::string_view raw) {
    auto params = parse_query(raw);
    if (!params) {
        SONDE_FUZZ_CHECK(!params.error().empty());
        return;
    }
    // Decoding only ever shortens: each %XX is one byte, '+' one space.
    std::size_t decoded_bytes = 0;
    for (const auto& param : params->params()) {
        decoded_bytes += param.key.size() + param.value.size();
        SONDE_FUZZ_CHECK(params->has(param.key));
    }
    SONDE_FUZZ_CHECK(decoded_bytes <= raw.size());
    if (const std::string* target = params->get("target")) {
        SONDE_FUZZ_CHECK(params->all("target").front() == *target);
        if (auto twice = query_unescape(*target)) {
            SONDE_FUZZ_CHECK(twice->size() <= target->size());
        }
    }
    (void)params->get("module");
    (void)params->get("debug");
    (void)params->get("hostname");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto split = split_target(text)) {
        HttpRequest request;
        request.target = std::string(text);
        request.path = split->path;
        request.query = split->query;
        SONDE_FUZZ_CHECK(split->query.size() < text.size() || text.empty() || split->query.empty());
        read_query(request.query);
    }
    // Whatever the target, the raw text as a query and as a path.
    read_query(text);
    if (auto path = path_unescape(text)) {
        SONDE_FUZZ_CHECK(path->size() <= text.size());
    }
    if (auto unescaped = query_unescape(text)) {
        SONDE_FUZZ_CHECK(unescaped->size() <= text.size());
    }
    HttpRequest request;
    request.headers.add("Accept-Encoding", std::string(text));
    (void)request.accepts_gzip();
    return 0;
}

// The HTTP response path of the http prober: bytes from the server through the llhttp-based
// HttpResponseParser (status line, headers, Content-Length, chunked and close-delimited bodies,
// interim 1xx answers), delivered in chunks of a size the input picks; then the body through
// the module's decompression and size limit, and the Location header through the redirect
// logic (Go's reference resolution in both URL parsers, the redirect decision, Referer).
//
// Input: byte 0 holds flags (bits 0-1: request kind, bit 2: small caps, bit 3: EOF after the
// data), byte 1 the chunk size (0: all at once); the rest is what the server sends.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "modules/http/body_decoder.hpp"
#include "modules/http/http_url.hpp"
#include "modules/http/redirect_policy.hpp"
#include "prober/net/http_response_parser.hpp"
#include "prober/net/url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace sonde;

void follow_location(const net::HttpResponseHead& head, std::string_view location) {
    static const auto base =
        modules::http::parse_http_url("https://user:pw@example.com:8443/a/b/c?x=1");
    SONDE_FUZZ_CHECK(base.has_value());
    if (auto next = modules::http::resolve_location(*base, location)) {
        SONDE_FUZZ_CHECK(next->scheme == "http" || next->scheme == "https");
        (void)next->effective_port();
        (void)next->request_target();
        (void)modules::http::redirect_referer(*base, *next);
        (void)modules::http::is_domain_or_subdomain(next->host, base->host);
        // What the next hop would print parses again into the same URL. Not for a host with
        // brackets inside ("'::1]", which Go accepts and cannot dial either): sonde keeps hosts
        // without their brackets and puts them back around any host with a ':'.
        if (next->host.find_first_of("[]") == std::string::npos) {
            auto again = modules::http::parse_http_url(next->to_string());
            SONDE_FUZZ_CHECK(again.has_value());
            SONDE_FUZZ_CHECK(again->scheme == next->scheme && again->host == next->host &&
                             again->port == next->port && again->path == next->path &&
                             again->query == next->query && again->userinfo == next->userinfo);
        }
    }
    (void)modules::http::is_relative_reference(location);
    (void)modules::http::normalise_target(location);
    const auto decision = modules::http::decide_redirect(head.status, !location.empty(), "POST",
                                                         true, (head.status & 1) != 0, 3, 2, true);
    SONDE_FUZZ_CHECK(decision.redirects >= 2);

    static const auto net_base = net::parse_url("http://example.com/dir/page?q#f");
    SONDE_FUZZ_CHECK(net_base.has_value());
    if (auto next = net::resolve_location(*net_base, location)) {
        (void)next->request_uri();
        (void)next->hostname();
        (void)next->port();
        (void)next->to_string();
    }
    if (auto parsed = net::parse_url(location)) {
        (void)net::escape_path(parsed->path);
        (void)net::resolve_reference(*net_base, *parsed).to_string();
    }
}

void read_body(const net::HttpResponseHead& head, std::string_view body) {
    const std::string* encoding = head.headers.find("Content-Encoding");
    const auto compression =
        modules::http::compression_from_config(encoding == nullptr ? "" : *encoding);
    if (!compression) {
        return;
    }
    if (!modules::http::start_decoder(*compression, body)) {
        return;
    }
    // A small limit and output cap, so that a decompression bomb costs the fuzzer nothing.
    constexpr std::int64_t kLimit = 256 * 1024;
    const auto read = modules::http::read_body(*compression, body, kLimit, 1024 * 1024);
    SONDE_FUZZ_CHECK(read.body.size() <= static_cast<std::size_t>(kLimit));
    const auto unlimited = modules::http::read_body(*compression, body, 0, 64 * 1024);
    SONDE_FUZZ_CHECK(unlimited.body.size() <= 64 * 1024);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const unsigned flags = data[0];
    const std::size_t chunk = data[1] == 0 ? size : data[1];
    const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

    net::HttpResponseLimits limits;
    if ((flags & 4U) != 0) {
        limits.max_header_bytes = 64;
        limits.max_body_bytes = 32;
    } else {
        limits.max_body_bytes = 1024 * 1024;
    }
    const net::RequestKind kinds[] = {net::RequestKind::Normal, net::RequestKind::Head,
                                      net::RequestKind::Connect, net::RequestKind::Normal};
    net::HttpResponseParser parser(limits, kinds[flags & 3U]);

    std::size_t offset = 0;
    while (offset < stream.size()) {
        const std::string_view piece = stream.substr(offset, chunk);
        const std::size_t used = parser.feed(piece);
        SONDE_FUZZ_CHECK(used <= piece.size());
        if (parser.state() == net::HttpResponseParser::State::Complete ||
            parser.state() == net::HttpResponseParser::State::Failed) {
            break;
        }
        SONDE_FUZZ_CHECK(used == piece.size());
        offset += piece.size();
    }
    if ((flags & 8U) != 0) {
        parser.finish();
    }
    SONDE_FUZZ_CHECK(parser.state() != net::HttpResponseParser::State::Failed ||
                     !parser.error().empty());
    if (!parser.headers_done()) {
        return 0;
    }
    const net::HttpResponseHead& head = parser.head();
    // A status line has three digits; interim answers (1xx but 101) are never the final one.
    SONDE_FUZZ_CHECK(head.status >= 0 && head.status <= 999);
    SONDE_FUZZ_CHECK(head.status >= 200 || head.status < 100 || head.status == 101);
    (void)head.version();
    (void)head.headers.joined("Set-Cookie");
    if (limits.max_body_bytes != 0) {
        SONDE_FUZZ_CHECK(parser.body().size() <= limits.max_body_bytes);
    }
    if (const std::string* location = head.headers.find("Location")) {
        follow_location(head, *location);
    }
    if (parser.state() == net::HttpResponseParser::State::Complete) {
        read_body(head, parser.body());
    }
    return 0;
}

#pragma once

// Url: the parts of Go's net/url that the http prober depends on — parsing a target or proxy
// URL (scheme, userinfo, host with `[v6]`, port, path, query, fragment), the request-target it
// sends (RequestURI), and resolving a redirect's Location against the URL it came from
// (URL.Parse(ref) = ResolveReference, RFC 3986 §5.2 with Go's dot-segment removal).
//
// Plain values, no loop affinity. Errors read as Go's: `parse "http://a b": invalid character
// " " in host name`.

#include <optional>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"

namespace sonde::net {

struct UrlUserinfo {
    std::string username;                 // decoded
    std::optional<std::string> password;  // decoded; nullopt when there was no ':'
};

struct Url {
    std::string scheme;  // lowercased, as Go does; "" for a relative reference
    std::string opaque;  // "mailto:x" → "x": a URL with a scheme and no '/' after it
    std::optional<UrlUserinfo> user;
    // Go's URL.Host: "example.com", "example.com:8080", "[::1]:80" (brackets kept).
    std::string host;
    std::string path;          // percent-decoded
    std::string escaped_path;  // as it goes on the wire (Go's EscapedPath)
    std::string raw_query;     // without '?', as written
    bool force_query = false;  // a '?' with nothing after it
    std::string fragment;      // decoded, without '#'

    // Go's Hostname(): host without port and brackets.
    std::string hostname() const;
    // Go's Port(): the digits after the host, "" when none.
    std::string port() const;
    // Go's RequestURI(): the origin-form target, "/" when the path is empty.
    std::string request_uri() const;
    // Go's String() (userinfo included, password too: callers redact for logs).
    std::string to_string() const;
};

// Go's url.Parse: absolute URLs and relative references alike.
[[nodiscard]] Result<Url> parse_url(std::string_view text);

// Go's base.ResolveReference(ref).
Url resolve_reference(const Url& base, const Url& ref);

// What Go's client does with a redirect: base.Parse(location).
[[nodiscard]] Result<Url> resolve_location(const Url& base, std::string_view location);

// Go's url.PathEscape-style encoding of a decoded path for the wire (encodePath mode: '/'
// kept, '?' and bytes outside the allowed set as %XX, upper-case hex).
std::string escape_path(std::string_view path);

}  // namespace sonde::net

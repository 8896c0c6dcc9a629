#pragma once

// HttpUrl: the absolute http/https URL a probe requests, parsed the way Go's url.Parse reads
// the parts the exporter uses, plus the exporter's target normalisation and the redirect
// Location resolution of Go's http.Client (RFC 3986 §5.2 reference resolution).
//
// Plain values with no loop affinity.

#include <cstdint>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"

namespace sonde::modules::http {

struct HttpUrl {
    std::string scheme;        // "http" or "https", lower case
    std::string userinfo;      // raw "user:pass" before '@', still percent-encoded; usually empty
    std::string host;          // without brackets: "example.com", "::1", "fe80::1%eth0"
    std::string port;          // as written, may be empty ("http://h:/" also gives "")
    std::string path;          // raw (still percent-encoded) path, may be empty
    std::string query;         // raw query without '?'
    bool force_query = false;  // the URL ended in a bare '?'

    bool is_https() const { return scheme == "https"; }
    // The port to connect to: the explicit one, else 80 for http and 443 for https.
    std::uint16_t effective_port() const;
    // "host[:port]" with IPv6 in brackets, as Go's URL.Host (the default Host header).
    std::string authority() const;
    // The request-target of an origin-form request: path ("/" when empty) plus "?query".
    std::string request_target() const;
    // scheme://[userinfo@]authority + path + "?query" (no fragment), as Go's URL.String(),
    // for logs and Referer.
    std::string to_string() const;
};

// Parses an absolute URL whose scheme is http or https (any case). Errors read as Go's
// url.Error, `parse "<url>": <reason>`, or for another scheme as Go's client reports it,
// `unsupported protocol scheme "<scheme>"`.
Result<HttpUrl> parse_http_url(std::string_view text);

// The exporter's target rule (prober/http.go, with the unreleased case-insensitive check of
// #1137): "http://" is prepended unless the target starts with "http://" or "https://" in any
// case. A target that names another scheme ("ftp://host") is rejected with Go's client wording
// rather than turned into "http://ftp://host" as the exporter does (whose probe then fails
// resolving the host "ftp"): the probe fails either way, sonde says why.
Result<HttpUrl> normalise_target(std::string_view target);

// Resolves a Location header value against the URL of the request that received it:
// absolute ("https://b/x"), scheme-relative ("//b/x"), absolute-path ("/x"), relative
// ("x", "../x", "?q") and empty references. The fragment is dropped. The result must again be
// http or https; other schemes fail as Go's client does when it follows them.
Result<HttpUrl> resolve_location(const HttpUrl& base, std::string_view location);

// True when the reference has no scheme ("/x", "//h/x", "x"): Go keeps a configured Host
// header across such a redirect (net/http issue #22233).
bool is_relative_reference(std::string_view location);

}  // namespace sonde::modules::http

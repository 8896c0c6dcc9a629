#pragma once

// CookieJar: the per-probe cookie jar the exporter gives Go's client (net/http/cookiejar), so
// that a cookie set by a redirect response is sent on the next hop. Covers the simple cases of
// RFC 6265 as Go implements them: host-only cookies (no Domain), Domain cookies for the host
// and its subdomains, Path (default: the request path's directory), Secure, Max-Age and
// Expires (deletion included). Go consults the public suffix list; sonde only refuses a
// Domain of a single label ("com") unless it is the host itself, then host-only as Go does.
// Keys are URL hosts, which for the exporter's first hop is the resolved IP.
//
// Owned by one probe session; no loop affinity.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/http/http_url.hpp"

namespace sonde::modules::http {

class CookieJar {
public:
    // Stores the cookies of every Set-Cookie value of a response to a request for url.
    // now: Unix seconds, for Max-Age and Expires.
    void set_cookies(const HttpUrl& url, const std::vector<std::string>& set_cookie,
                     std::int64_t now);

    // The Cookie header value for a request to url ("a=1; b=2"), empty when none apply. As Go:
    // longer paths first, then older cookies first.
    std::string cookie_header(const HttpUrl& url, std::int64_t now) const;

    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string name;
        std::string value;
        std::string domain;
        std::string path;
        bool host_only = true;
        bool secure = false;
        std::optional<std::int64_t> expires;
        std::uint64_t seq = 0;
    };

    void store(Entry entry, bool remove);

    std::vector<Entry> entries_;
    std::uint64_t next_seq_ = 0;
};

}  // namespace sonde::modules::http

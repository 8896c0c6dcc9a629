#pragma once

// Building the HTTP requests of a probe from the module's `http:` block, as the exporter's
// ProbeHTTP and the prometheus/common round trippers it stacks (http_headers, authorization,
// basic_auth) and Go's http.Client.send (URL userinfo, cookies) shape them.
//
// A request is built in two steps because Go builds it that way across redirects:
//  1. initial_headers(): the headers of the first request (`headers:` with Header.Set
//     semantics, the default User-Agent). Go copies these to every redirect hop.
//  2. finish_request(): the parts added again on every hop: Authorization (from the URL
//     userinfo, `authorization` or `basic_auth`, never over an Authorization already set),
//     `http_headers` (files re-read), Cookie, Referer, Content-Length, Connection: close.
// Files are read when the request is built, so a probe sees the current contents; failures are
// returned as values in the wording of prometheus/common.
//
// Plain functions, no loop affinity.

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "modules/http/host_header.hpp"
#include "modules/http/http_url.hpp"
#include "prober/core/result.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::modules::http {

// The product token of the exporter release whose behaviour sonde follows.
inline constexpr std::string_view kBlackboxCompatVersion = "0.28.0";

// The default User-Agent: "Blackbox-Exporter/0.28.0 (sonde <sonde_version>)".
// Servers and WAF rules that allow-list the exporter match on its product token, so sonde keeps
// it first and unchanged (as 0.28.0 spells it); the comment says who really sent the request,
// the way "(compatible; ...)" user agents do. `headers: User-Agent` replaces it entirely.
std::string default_user_agent(std::string_view sonde_version);

// The request body: `body`, else the contents of `body_file` read now, else empty. The exporter
// reports a body_file error as "Error creating request".
Result<std::string> load_request_body(const config::HttpProbe& cfg);

// Step 1. headers is the module's `headers:` after apply_hostname_param(); Host entries are
// skipped (they set the Host header, see choose_host_names). Each other name is canonicalised
// and set (the last one of a name wins). User-Agent is added unless configured; a configured
// empty User-Agent sends none, as Go does.
net::HttpHeaders initial_headers(const HeaderList& headers, std::string_view user_agent);

struct OutgoingRequest {
    std::string method;
    HttpUrl url;               // what is connected to: its host may be the resolved IP
    std::string host_header;   // the Host header value
    net::HttpHeaders headers;  // every header but Host, in sending order
    std::string body;

    // "GET /path HTTP/1.1\r\nHost: ...\r\n...\r\n\r\n<body>", for the client and for tests.
    std::string serialise() const;
};

struct HopInputs {
    std::string method;
    HttpUrl url;
    std::string host_header;
    net::HttpHeaders headers;  // initial_headers(), or the redirect's copy of them
    std::string body;
    std::string cookie_header;  // CookieJar::cookie_header(url), may be empty
    std::string referer;        // redirect_referer(), empty on the first hop
};

// Step 2. Errors (an unreadable credentials or header file) read as prometheus/common's, e.g.
// "unable to read authorization credentials: open /x: no such file or directory"; the exporter
// then fails the probe with "HTTP request failed".
Result<OutgoingRequest> finish_request(const config::HttpProbe& cfg, HopInputs hop);

}  // namespace sonde::modules::http

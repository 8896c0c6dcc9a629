#pragma once

// What Go's http.Client does with a 3xx, under the exporter's CheckRedirect (prober/http.go):
// redirects are followed while follow_redirects is on and at most 10 times; the response that
// would be the 11th redirect is final, with probe_http_redirects 11; with follow_redirects off
// the first 3xx is final with probe_http_redirects 1. Also the next hop's method, body, Host,
// Referer and the headers Go drops when a redirect leaves the initial domain.
// Pure functions, no loop affinity.

#include <string>
#include <string_view>

#include "modules/http/http_url.hpp"
#include "modules/http/request_builder.hpp"

namespace sonde::modules::http {

inline constexpr int kMaxRedirects = 10;

struct RedirectDecision {
    enum class Action {
        Final,   // not a redirect Go follows (no Location, 304, or a 307/308 whose body cannot
                 // be sent again): the response is final and the request did not error
        Follow,  // send the next hop
        Stop,    // CheckRedirect refused: the 3xx is final and Go's client returned an error
                 // with it (FinalResponse::redirect_not_followed)
    };
    Action action = Action::Final;
    // probe_http_redirects after this response: the number of requests sent so far when
    // CheckRedirect ran (Go's len(via)), else unchanged.
    int redirects = 0;
    std::string method;      // the next hop's method (Follow only)
    bool keep_body = false;  // 307/308 send the body again
};

// status: the response's code; has_location: a non-empty Location header; method: of the
// request that got this response; body_replayable: Go can send the body again (a `body`
// string can, a `body_file` stream cannot: Go has no GetBody for it and then returns the
// 307/308 as final); requests_sent: requests of this probe so far, this one included;
// redirects: the probe_http_redirects value before this response.
RedirectDecision decide_redirect(int status, bool has_location, std::string_view method,
                                 bool body_has_content, bool body_replayable, int requests_sent,
                                 int redirects, bool follow_redirects);

// The Referer Go sets on a redirect hop: the previous URL without userinfo; none from https
// to http.
std::string redirect_referer(const HttpUrl& previous, const HttpUrl& next);

// Go's isDomainOrSubdomain: sub equals parent or ends in "." + parent (not for IPv6 hosts).
bool is_domain_or_subdomain(std::string_view sub, std::string_view parent);

// The inputs of the next hop after a Follow decision. Headers are the initial request's
// (initial_headers()), without Authorization, Www-Authenticate, Cookie and Cookie2 when the
// next host is not the initial one or a subdomain of it. The Host header stays the initial
// one when that was custom (differs from the initial URL's authority, as when the URL holds
// the resolved IP) and the Location is relative (Go issue #22233), else it is the next URL's
// authority. The caller adds the jar's cookies before finish_request().
HopInputs redirect_hop(const OutgoingRequest& initial, const net::HttpHeaders& initial_headers,
                       const OutgoingRequest& previous, const HttpUrl& next,
                       std::string_view location, const RedirectDecision& decision);

}  // namespace sonde::modules::http

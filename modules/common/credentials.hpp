#pragma once

// The credentials and extra headers a module sends with an HTTP request, as prometheus/common
// builds them (basic_auth, authorization, http_headers): shared by the http prober and the
// websocket prober's upgrade request. Files are re-read on every call, so a probe sees the
// current contents (rotated secrets need no reload). Errors read as prometheus/common's, e.g.
// "unable to read authorization credentials: unable to read file /x: open /x: no such file or
// directory".
//
// Plain functions, no loop affinity.

#include <map>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "prober/core/result.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::modules {

// "<type> <credentials>" from `authorization`; nullopt when the credentials are empty, in which
// case nothing is sent.
Result<std::optional<std::string>> authorization_header(const config::Authorization& auth);

// "Basic base64(username:password)" from `basic_auth`.
Result<std::string> basic_auth_header(const config::BasicAuth& auth);

// Adds every value, secret and file content of an http_headers map under the canonical name of
// its key (Go's Header.Add).
Result<void> add_header_values(const std::map<std::string, config::HttpHeaderValues>& headers,
                               net::HttpHeaders& out);

}  // namespace sonde::modules

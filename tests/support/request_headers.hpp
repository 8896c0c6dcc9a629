#pragma once

// What a test server saw of a request's headers.

#include <string>

#include "prober/net/http_request.hpp"

namespace sonde::test {

// The header's value, or "" when the request had none.
inline std::string header_or_empty(const net::HttpRequest& request, const char* name) {
    const std::string* value = request.header(name);
    return value == nullptr ? std::string() : *value;
}

}  // namespace sonde::test

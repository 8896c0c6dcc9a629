#pragma once

// Shared by the http module's unit tests: URLs the test knows to be valid.

#include <string>

#include <catch2/catch.hpp>

#include "modules/http/http_url.hpp"

namespace sonde::test {

// An absolute URL, parsed as a redirect's Location would be.
inline modules::http::HttpUrl url_of(const std::string& text) {
    auto url = modules::http::parse_http_url(text);
    REQUIRE(url.has_value());
    return *url;
}

// A /probe target, completed as the module does ("host:port" gets "http://").
inline modules::http::HttpUrl target_url_of(const std::string& target) {
    auto url = modules::http::normalise_target(target);
    REQUIRE(url.has_value());
    return *url;
}

}  // namespace sonde::test

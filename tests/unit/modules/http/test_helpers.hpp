#pragma once

// Small builders shared by the http module's unit tests.

#include <memory>
#include <string>

#include <re2/re2.h>

#include "config/config.hpp"

namespace sonde::modules::http::test {

inline config::Regex regex(const std::string& pattern) {
    return config::Regex{pattern, std::make_shared<const re2::RE2>(pattern)};
}

inline config::HeaderMatch header_match(const std::string& header, const std::string& pattern,
                                        bool allow_missing = false) {
    return config::HeaderMatch{header, regex(pattern), allow_missing};
}

}  // namespace sonde::modules::http::test

#pragma once

// Character classes of config values, by ASCII as Go's parsers test them (not the C locale's).

namespace sonde::config {

inline bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace sonde::config

#pragma once

// Character classes of config values, by ASCII as Go's parsers test them (not the C locale's).

#include <string>
#include <string_view>

namespace sonde::config {

inline bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}

// The value of a hexadecimal digit (either case), -1 for any other byte: percent-escapes.
inline int ascii_hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// ASCII letters lowered, every other byte kept: header names, URL schemes and hosts, cookie
// attributes, as Go's strings.ToLower does for ASCII text.
inline std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace sonde::config

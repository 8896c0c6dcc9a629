#pragma once

// Big-endian writers for the test DNS servers' replies (RFC 1035 §2.3.2).

#include <cstdint>
#include <string>

namespace sonde::test {

inline void put16(std::string& out, std::uint32_t value) {
    out.push_back(static_cast<char>((value >> 8) & 0xFF));
    out.push_back(static_cast<char>(value & 0xFF));
}

inline void put32(std::string& out, std::uint32_t value) {
    put16(out, value >> 16);
    put16(out, value & 0xFFFF);
}

}  // namespace sonde::test

#include "config/duration.hpp"

#include <cstdint>

#include "config/ascii.hpp"

namespace sonde::config {
namespace {

constexpr std::uint64_t kLimit = std::uint64_t{1} << 63;

struct Unit {
    std::string_view name;
    std::uint64_t nanoseconds;
};

// "µs" is U+00B5 (micro sign) and "μs" U+03BC (Greek mu); Go accepts both.
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},
    {"\xCE\xBCs", 1000},
    {"ms", 1000 * 1000},
    {"s", 1000 * 1000 * 1000},
    {"m", 60ULL * 1000 * 1000 * 1000},
    {"h", 3600ULL * 1000 * 1000 * 1000},
};

Error invalid_duration(std::string_view text) {
    return unexpected("time: invalid duration \"" + std::string(text) + "\"");
}

}  // namespace

// A transcription of Go's time.ParseDuration, including its overflow rules, so that sonde and
// the exporter accept exactly the same strings.
Result<Duration> parse_go_duration(std::string_view text) {
    std::string_view s = text;
    bool negative = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s == "0") {
        return Duration{0};
    }
    if (s.empty()) {
        return invalid_duration(text);
    }
    std::uint64_t total = 0;
    while (!s.empty()) {
        if (!(s.front() == '.' || is_ascii_digit(s.front()))) {
            return invalid_duration(text);
        }
        // The integer part; Go refuses it as soon as it could overflow.
        std::uint64_t whole = 0;
        std::size_t digits = 0;
        while (digits < s.size() && is_ascii_digit(s[digits])) {
            if (whole > kLimit / 10) {
                return invalid_duration(text);
            }
            whole = whole * 10 + static_cast<std::uint64_t>(s[digits] - '0');
            if (whole > kLimit) {
                return invalid_duration(text);
            }
            ++digits;
        }
        const bool pre = digits > 0;
        s.remove_prefix(digits);
        // The fraction: digits past what fits are dropped, as Go does.
        std::uint64_t fraction = 0;
        double scale = 1;
        bool post = false;
        if (!s.empty() && s.front() == '.') {
            s.remove_prefix(1);
            std::size_t i = 0;
            bool overflow = false;
            while (i < s.size() && is_ascii_digit(s[i])) {
                if (!overflow) {
                    if (fraction > (kLimit - 1) / 10) {
                        overflow = true;
                    } else {
                        const auto next = fraction * 10 + static_cast<std::uint64_t>(s[i] - '0');
                        if (next > kLimit - 1) {
                            overflow = true;
                        } else {
                            fraction = next;
                            scale *= 10;
                        }
                    }
                }
                ++i;
            }
            post = i > 0;
            s.remove_prefix(i);
        }
        if (!pre && !post) {
            return invalid_duration(text);
        }
        std::size_t unit_length = 0;
        while (unit_length < s.size() && s[unit_length] != '.' && !is_ascii_digit(s[unit_length])) {
            ++unit_length;
        }
        if (unit_length == 0) {
            return unexpected("time: missing unit in duration \"" + std::string(text) + "\"");
        }
        const std::string_view unit_name = s.substr(0, unit_length);
        s.remove_prefix(unit_length);
        const Unit* unit = nullptr;
        for (const Unit& candidate : kUnits) {
            if (candidate.name == unit_name) {
                unit = &candidate;
            }
        }
        if (unit == nullptr) {
            return unexpected("time: unknown unit \"" + std::string(unit_name) +
                              "\" in duration \"" + std::string(text) + "\"");
        }
        if (whole > kLimit / unit->nanoseconds) {
            return invalid_duration(text);
        }
        whole *= unit->nanoseconds;
        if (fraction > 0) {
            whole += static_cast<std::uint64_t>(static_cast<double>(fraction) *
                                                (static_cast<double>(unit->nanoseconds) / scale));
            if (whole > kLimit) {
                return invalid_duration(text);
            }
        }
        total += whole;
        if (total > kLimit) {
            return invalid_duration(text);
        }
    }
    if (negative) {
        // -(1<<63) is representable; computing it through unsigned avoids signed overflow.
        return Duration{static_cast<std::int64_t>(~total + 1)};
    }
    if (total > kLimit - 1) {
        return invalid_duration(text);
    }
    return Duration{static_cast<std::int64_t>(total)};
}

namespace {

// "<whole>[.<fraction without trailing zeros>]" of value / 10^precision.
std::string fixed_point(std::uint64_t value, int precision) {
    std::uint64_t divisor = 1;
    for (int i = 0; i < precision; ++i) {
        divisor *= 10;
    }
    std::string out = std::to_string(value / divisor);
    std::uint64_t fraction = value % divisor;
    if (fraction != 0) {
        std::string digits = std::to_string(fraction);
        digits.insert(0, static_cast<std::size_t>(precision) - digits.size(), '0');
        while (digits.back() == '0') {
            digits.pop_back();
        }
        out += "." + digits;
    }
    return out;
}

}  // namespace

std::string format_go_duration(Duration duration) {
    const std::int64_t count = duration.count();
    const bool negative = count < 0;
    std::uint64_t u = static_cast<std::uint64_t>(count);
    if (negative) {
        u = ~u + 1;
    }
    std::string out;
    if (u == 0) {
        return "0s";
    }
    if (u < 1000) {
        out = std::to_string(u) + "ns";
    } else if (u < 1000 * 1000) {
        out = fixed_point(u, 3) + "\xC2\xB5s";
    } else if (u < 1000 * 1000 * 1000) {
        out = fixed_point(u, 6) + "ms";
    } else {
        const std::uint64_t seconds = u / 1000000000;
        const std::string sec = fixed_point((seconds % 60) * 1000000000 + u % 1000000000, 9) + "s";
        const std::uint64_t minutes = seconds / 60;
        if (minutes == 0) {
            out = sec;
        } else if (minutes < 60) {
            out = std::to_string(minutes) + "m" + sec;
        } else {
            out = std::to_string(minutes / 60) + "h" + std::to_string(minutes % 60) + "m" + sec;
        }
    }
    return negative ? "-" + out : out;
}

}  // namespace sonde::config

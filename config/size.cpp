#include "config/size.hpp"

#include <cmath>

#include "config/ascii.hpp"

namespace sonde::config {
namespace {

struct SizeUnit {
    std::string_view name;
    double multiplier;
};

constexpr double kKi = 1024.0;
constexpr SizeUnit kSizeUnits[] = {
    {"B", 1.0},
    {"KB", kKi},
    {"KiB", kKi},
    {"MB", kKi* kKi},
    {"MiB", kKi* kKi},
    {"GB", kKi* kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"TB", kKi* kKi* kKi* kKi},
    {"TiB", kKi* kKi* kKi* kKi},
    {"PB", kKi* kKi* kKi* kKi* kKi},
    {"PiB", kKi* kKi* kKi* kKi* kKi},
    {"EB", kKi* kKi* kKi* kKi* kKi* kKi},
    {"EiB", kKi* kKi* kKi* kKi* kKi* kKi},
};

Error invalid_size(std::string_view text) {
    return unexpected("units: invalid " + std::string(text));
}

}  // namespace

// A transcription of alecthomas/units ParseUnit, which sums the parts in floating point.
Result<std::int64_t> parse_base2_bytes(std::string_view text) {
    std::string_view s = text;
    bool negative = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s == "0") {
        return std::int64_t{0};
    }
    if (s.empty()) {
        return invalid_size(text);
    }
    double total = 0;
    while (!s.empty()) {
        if (!(s.front() == '.' || is_ascii_digit(s.front()))) {
            return invalid_size(text);
        }
        double part = 0;
        std::size_t i = 0;
        while (i < s.size() && is_ascii_digit(s[i])) {
            part = part * 10 + (s[i] - '0');
            ++i;
        }
        const bool pre = i > 0;
        s.remove_prefix(i);
        bool post = false;
        if (!s.empty() && s.front() == '.') {
            s.remove_prefix(1);
            double scale = 1;
            std::size_t j = 0;
            double fraction = 0;
            while (j < s.size() && is_ascii_digit(s[j])) {
                fraction = fraction * 10 + (s[j] - '0');
                scale *= 10;
                ++j;
            }
            part += fraction / scale;
            post = j > 0;
            s.remove_prefix(j);
        }
        if (!pre && !post) {
            return invalid_size(text);
        }
        std::size_t unit_length = 0;
        while (unit_length < s.size() && s[unit_length] != '.' && !is_ascii_digit(s[unit_length])) {
            ++unit_length;
        }
        const std::string_view unit_name = s.substr(0, unit_length);
        s.remove_prefix(unit_length);
        const SizeUnit* unit = nullptr;
        for (const SizeUnit& candidate : kSizeUnits) {
            if (candidate.name == unit_name) {
                unit = &candidate;
            }
        }
        if (unit == nullptr) {
            return unexpected("units: unknown unit " + std::string(unit_name) + " in " +
                              std::string(text));
        }
        total += part * unit->multiplier;
    }
    if (negative) {
        total = -total;
    }
    // 2^63 is exactly representable as a double; anything at or above it does not fit.
    if (total < -9223372036854775808.0 || total >= 9223372036854775808.0) {
        return unexpected("units: overflow parsing unit");
    }
    return static_cast<std::int64_t>(total);
}

std::string format_base2_bytes(std::int64_t bytes) {
    static constexpr std::string_view kPrefixes[] = {"", "K", "M", "G", "T", "P", "E"};
    if (bytes == 0) {
        return "0B";
    }
    // Like units.ToString: the non-zero remainders from the largest unit down.
    std::string out;
    std::int64_t n = bytes;
    for (std::size_t i = 0; i < std::size(kPrefixes) && n != 0; ++i) {
        const std::int64_t remainder = n % 1024;
        if (remainder != 0) {
            out.insert(
                0, std::to_string(remainder) + std::string(kPrefixes[i]) + (i == 0 ? "B" : "iB"));
        }
        n /= 1024;
    }
    return out;
}

}  // namespace sonde::config

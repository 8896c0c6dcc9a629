#include "modules/http/http_date.hpp"

#include <array>
#include <cctype>
#include <string>

namespace sonde::modules::http {
namespace {

constexpr std::array<std::string_view, 7> kShortDays = {"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A cursor over the text with the primitives Go's time.Parse uses.
class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool done() const { return text_.empty(); }

    // A layout literal. A space matches one or more spaces (Go's skip()).
    bool literal(std::string_view expected) {
        while (!expected.empty()) {
            if (expected.front() == ' ') {
                if (text_.empty() || text_.front() != ' ') {
                    return false;
                }
                expected = trim_spaces(expected);
                text_ = trim_spaces(text_);
                continue;
            }
            if (text_.empty() || text_.front() != expected.front()) {
                return false;
            }
            expected.remove_prefix(1);
            text_.remove_prefix(1);
        }
        return true;
    }

    // One of names, case-insensitively; its index.
    template <std::size_t N>
    std::optional<unsigned> name(const std::array<std::string_view, N>& names) {
        for (std::size_t i = 0; i < N; ++i) {
            const auto candidate = names[i];
            if (text_.size() >= candidate.size() &&
                iequal(text_.substr(0, candidate.size()), candidate)) {
                text_.remove_prefix(candidate.size());
                return static_cast<unsigned>(i);
            }
        }
        return std::nullopt;
    }

    // Exactly `digits` digits, or (fixed == false) one or two.
    std::optional<unsigned> number(std::size_t digits, bool fixed) {
        std::size_t n = 0;
        unsigned value = 0;
        while (n < digits && n < text_.size() &&
               std::isdigit(static_cast<unsigned char>(text_[n])) != 0) {
            value = value * 10 + static_cast<unsigned>(text_[n] - '0');
            ++n;
        }
        if (n == 0 || (fixed && n != digits)) {
            return std::nullopt;
        }
        text_.remove_prefix(n);
        return value;
    }

    // Go's stdTZ: three upper-case letters, or four or five ending in 'T', roughly as
    // parseTimeZone accepts them. Read as offset 0.
    bool zone() {
        std::size_t n = 0;
        while (n < text_.size() && std::isupper(static_cast<unsigned char>(text_[n])) != 0) {
            ++n;
        }
        if (n < 3 || n > 5 || (n > 3 && text_[n - 1] != 'T')) {
            return false;
        }
        text_.remove_prefix(n);
        return true;
    }

    // An optional single leading space, for Go's "_2" (space-padded day).
    void optional_space() {
        if (!text_.empty() && text_.front() == ' ') {
            text_.remove_prefix(1);
        }
    }

private:
    static std::string_view trim_spaces(std::string_view s) {
        while (!s.empty() && s.front() == ' ') {
            s.remove_prefix(1);
        }
        return s;
    }
    static bool iequal(std::string_view a, std::string_view b) {
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(a[i])) !=
                std::tolower(static_cast<unsigned char>(b[i]))) {
                return false;
            }
        }
        return true;
    }

    std::string_view text_;
};

struct Fields {
    std::int64_t year = 0;
    unsigned month = 0;  // 0-based from the name table
    unsigned day = 0;
    unsigned hour = 0;
    unsigned minute = 0;
    unsigned second = 0;
};

bool is_leap(std::int64_t year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

std::optional<std::int64_t> to_unix(const Fields& f) {
    static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                       31, 31, 30, 31, 30, 31};
    const unsigned month_days = kDays[f.month] + (f.month == 1 && is_leap(f.year) ? 1U : 0U);
    if (f.day < 1 || f.day > month_days || f.hour > 23 || f.minute > 59 || f.second > 59) {
        return std::nullopt;
    }
    return days_from_civil(f.year, f.month + 1, f.day) * 86400 + f.hour * 3600 + f.minute * 60 +
           f.second;
}

// "15:04:05"
bool clock(Reader& r, Fields& f) {
    const auto hour = r.number(2, false);
    if (!hour || !r.literal(":")) {
        return false;
    }
    const auto minute = r.number(2, true);
    if (!minute || !r.literal(":")) {
        return false;
    }
    const auto second = r.number(2, true);
    if (!second) {
        return false;
    }
    f.hour = *hour;
    f.minute = *minute;
    f.second = *second;
    return true;
}

// "Mon, 02 Jan 2006 15:04:05 GMT"
std::optional<std::int64_t> parse_rfc1123(std::string_view text) {
    Reader r(text);
    Fields f;
    if (!r.name(kShortDays) || !r.literal(", ")) {
        return std::nullopt;
    }
    const auto day = r.number(2, true);
    if (!day || !r.literal(" ")) {
        return std::nullopt;
    }
    const auto month = r.name(kMonths);
    if (!month || !r.literal(" ")) {
        return std::nullopt;
    }
    const auto year = r.number(4, true);
    if (!year || !r.literal(" ") || !clock(r, f) || !r.literal(" GMT") || !r.done()) {
        return std::nullopt;
    }
    f.day = *day;
    f.month = *month;
    f.year = *year;
    return to_unix(f);
}

// "Monday, 02-Jan-06 15:04:05 MST"
std::optional<std::int64_t> parse_rfc850(std::string_view text) {
    Reader r(text);
    Fields f;
    if (!r.name(kLongDays) || !r.literal(", ")) {
        return std::nullopt;
    }
    const auto day = r.number(2, true);
    if (!day || !r.literal("-")) {
        return std::nullopt;
    }
    const auto month = r.name(kMonths);
    if (!month || !r.literal("-")) {
        return std::nullopt;
    }
    const auto year = r.number(2, true);
    if (!year || !r.literal(" ") || !clock(r, f) || !r.literal(" ") || !r.zone() || !r.done()) {
        return std::nullopt;
    }
    f.day = *day;
    f.month = *month;
    f.year = *year >= 69 ? 1900 + *year : 2000 + *year;  // Go's two-digit year rule
    return to_unix(f);
}

// "Mon Jan _2 15:04:05 2006"
std::optional<std::int64_t> parse_asctime(std::string_view text) {
    Reader r(text);
    Fields f;
    if (!r.name(kShortDays) || !r.literal(" ")) {
        return std::nullopt;
    }
    const auto month = r.name(kMonths);
    if (!month || !r.literal(" ")) {
        return std::nullopt;
    }
    r.optional_space();
    const auto day = r.number(2, false);
    if (!day || !r.literal(" ") || !clock(r, f) || !r.literal(" ")) {
        return std::nullopt;
    }
    const auto year = r.number(4, true);
    if (!year || !r.done()) {
        return std::nullopt;
    }
    f.day = *day;
    f.month = *month;
    f.year = *year;
    return to_unix(f);
}

}  // namespace

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    // Howard Hinnant's algorithm: shift the year to start in March so February is last.
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto yoe = static_cast<unsigned>(year - era * 400);
    const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
    if (auto t = parse_rfc1123(text)) {
        return t;
    }
    if (auto t = parse_rfc850(text)) {
        return t;
    }
    return parse_asctime(text);
}

}  // namespace sonde::modules::http

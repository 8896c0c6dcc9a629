#pragma once

// HTTP dates as Go's http.ParseTime reads them, for probe_http_last_modified_timestamp_seconds
// and cookie expiry.

#include <cstdint>
#include <optional>
#include <string_view>

namespace sonde::modules::http {

// Unix seconds of a date in one of the three formats Go's http.ParseTime tries, in order:
//   RFC 1123 (http.TimeFormat)  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850                     "Sunday, 06-Nov-94 08:49:37 GMT"   (yy < 69 is 20yy)
//   ANSI C asctime              "Sun Nov  6 08:49:37 1994"
// As Go's time.Parse: names match case-insensitively; the weekday is checked for spelling only,
// not against the date; runs of spaces match each other; the day must exist in its month. An
// RFC 850 zone abbreviation is read as UTC (Go gives unknown abbreviations offset 0). Go's
// acceptance of fractional seconds the layouts do not name is not reproduced.
// nullopt when none of the formats matches exactly.
std::optional<std::int64_t> parse_http_date(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

}  // namespace sonde::modules::http

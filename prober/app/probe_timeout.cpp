#include "prober/app/probe_timeout.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace sonde::app {

Result<std::optional<double>> parse_scrape_timeout_header(std::optional<std::string_view> header) {
    if (!header) {
        return std::optional<double>{};
    }
    const std::string text(*header);
    const auto invalid = [&] {
        return unexpected(
            "Failed to parse timeout from Prometheus header: strconv.ParseFloat: "
            "parsing \"" +
            text + "\": invalid syntax");
    };
    if (text.empty() || std::isspace(static_cast<unsigned char>(text.front())) != 0) {
        return invalid();
    }
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) {
        return invalid();
    }
    if (errno == ERANGE && std::isinf(value)) {
        return unexpected(
            "Failed to parse timeout from Prometheus header: strconv.ParseFloat: "
            "parsing \"" +
            text + "\": value out of range");
    }
    return std::optional<double>{value};
}

double effective_timeout_seconds(std::optional<double> scrape_timeout, double timeout_offset,
                                 double module_timeout_seconds) {
    double budget = scrape_timeout.value_or(0);
    if (budget == 0) {
        budget = 120;
    }
    const double max_timeout = budget - timeout_offset;
    if ((module_timeout_seconds > 0 && module_timeout_seconds < max_timeout) || max_timeout < 0) {
        return module_timeout_seconds;
    }
    return max_timeout;
}

double scheduled_timeout_seconds(double interval_seconds, double timeout_offset,
                                 double module_timeout_seconds) {
    if (module_timeout_seconds > 0) {
        return std::min(module_timeout_seconds, interval_seconds);
    }
    const double derived = interval_seconds - timeout_offset;
    return derived > 0 ? derived : interval_seconds;
}

}  // namespace sonde::app

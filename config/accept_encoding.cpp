#include "config/accept_encoding.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace sonde::config {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Go's strconv.ParseFloat with an error mapped to 0, rounded to 3 decimals as the exporter does.
double parse_quality(std::string_view text) {
    const std::string owned(text);
    if (owned.empty()) {
        return 0;
    }
    char* end = nullptr;
    const double q = std::strtod(owned.c_str(), &end);
    if (end != owned.c_str() + owned.size()) {
        return 0;
    }
    return std::round(q * 1000) / 1000;
}

struct Entry {
    std::string_view encoding;
    double quality;
};

}  // namespace

bool is_compression_acceptable(std::string_view compression, std::string_view accept_encoding) {
    if (compression.empty() || accept_encoding.empty()) {
        return true;
    }
    std::vector<Entry> entries;
    std::string_view rest = accept_encoding;
    while (true) {
        const std::size_t comma = rest.find(',');
        const std::string_view part = rest.substr(0, comma);
        const std::size_t semicolon = part.rfind(';');
        if (semicolon == std::string_view::npos) {
            entries.push_back({trim(part), 1.0});
        } else {
            std::string_view q = trim(part.substr(semicolon + 1));
            if (q.substr(0, 2) == "q=") {
                q.remove_prefix(2);
            }
            entries.push_back({trim(part.substr(0, semicolon)), parse_quality(q)});
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.quality > b.quality; });
    for (const Entry& entry : entries) {
        if (entry.encoding == compression || entry.encoding == "*") {
            return entry.quality > 0;
        }
    }
    return false;
}

}  // namespace sonde::config

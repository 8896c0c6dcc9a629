#include "tests/support/metrics_parse.hpp"

#include <cstdlib>
#include <sstream>
#include <vector>

namespace sonde::test {
namespace {

// Splits `a="x",b="y"` honouring escaped quotes; returns the pairs sorted by name.
std::string canonical_labels(const std::string& text) {
    std::map<std::string, std::string> labels;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto eq = text.find('=', i);
        if (eq == std::string::npos) {
            break;
        }
        std::string name = text.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;  // skip ="
        while (j < text.size() && text[j] != '"') {
            if (text[j] == '\\' && j + 1 < text.size()) {
                value += text[j];
                ++j;
            }
            value += text[j];
            ++j;
        }
        labels[name] = value;
        i = j + 1;
        if (i < text.size() && text[i] == ',') {
            ++i;
        }
    }
    std::string out;
    for (const auto& [k, v] : labels) {
        out += (out.empty() ? "" : ",") + k + "=\"" + v + "\"";
    }
    return out;
}

}  // namespace

Samples parse_samples(const std::string& exposition) {
    Samples samples;
    std::istringstream in(exposition);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::string key;
        std::string rest;
        const auto brace = line.find('{');
        const auto space = line.find(' ');
        if (brace != std::string::npos && brace < space) {
            const auto close = line.rfind('}');
            key = line.substr(0, brace) + "{" +
                  canonical_labels(line.substr(brace + 1, close - brace - 1)) + "}";
            rest = line.substr(close + 1);
        } else {
            key = line.substr(0, space);
            rest = line.substr(space);
        }
        samples[key] = std::strtod(rest.c_str(), nullptr);
    }
    return samples;
}

std::set<std::string> metric_names(const Samples& samples) {
    std::set<std::string> names;
    for (const auto& [key, value] : samples) {
        names.insert(key.substr(0, key.find('{')));
    }
    return names;
}

double sample_or(const Samples& samples, const std::string& key, double fallback) {
    const auto it = samples.find(key);
    return it == samples.end() ? fallback : it->second;
}

}  // namespace sonde::test

#include "prober/app/check_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include <prometheus/registry.h>

namespace sonde::app {
namespace {

constexpr const char* kGreen = "\033[32m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kReset = "\033[0m";

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

double sample_value(const prometheus::ClientMetric& metric, prometheus::MetricType type) {
    switch (type) {
        case prometheus::MetricType::Counter:
            return metric.counter.value;
        case prometheus::MetricType::Untyped:
            return metric.untyped.value;
        default:
            return metric.gauge.value;
    }
}

// Where a phase goes in the listing: the order a probe goes through them.
int phase_rank(const std::string& name) {
    static const std::vector<std::string> order = {"resolve",  "setup",     "connect", "starttls",
                                                   "tls",      "handshake", "check",   "processing",
                                                   "transfer", "rtt"};
    const auto it = std::find(order.begin(), order.end(), name);
    return it == order.end() ? static_cast<int>(order.size())
                             : static_cast<int>(it - order.begin());
}

bool is_timestamp(const std::string& name) {
    return name == "probe_ssl_earliest_cert_expiry" || ends_with(name, "_timestamp_seconds");
}

std::string format_number(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.15g", value);
    return buffer;
}

std::string format_ms(double seconds) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.3f ms", seconds * 1000.0);
    return buffer;
}

std::string labels_text(const std::vector<prometheus::ClientMetric::Label>& labels) {
    std::string text;
    for (const auto& label : labels) {
        if (!text.empty()) {
            text += ", ";
        }
        text += label.name + "=" + label.value;
    }
    return text;
}

std::string paint(const std::string& text, const char* colour, bool enabled) {
    return enabled ? std::string(colour) + text + kReset : text;
}

}  // namespace

std::string format_unix_time(double seconds) {
    const auto t = static_cast<std::time_t>(std::floor(seconds));
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buffer;
}

CheckSummary summarise_registry(const prometheus::Registry& registry) {
    CheckSummary summary;
    std::vector<prometheus::MetricFamily> families = registry.Collect();
    std::sort(families.begin(), families.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    std::optional<double> lookup;
    for (const auto& family : families) {
        const std::string& name = family.name;
        if (name.rfind("probe_", 0) != 0 || name == "probe_success" ||
            name == "probe_duration_seconds" || name == "probe_timeout_seconds" ||
            name == "probe_ip_addr_hash") {
            continue;
        }
        if (name == "probe_dns_lookup_time_seconds") {
            if (!family.metric.empty()) {
                lookup = sample_value(family.metric.front(), family.type);
            }
            continue;
        }
        for (const auto& metric : family.metric) {
            const double value = sample_value(metric, family.type);
            const auto phase = std::find_if(metric.label.begin(), metric.label.end(),
                                            [](const auto& l) { return l.name == "phase"; });
            if (ends_with(name, "_duration_seconds") && phase != metric.label.end()) {
                summary.phases.push_back({phase->value, value});
                continue;
            }
            CheckFact fact;
            fact.name = name.substr(6);
            fact.value = value;
            if (ends_with(name, "_info")) {
                fact.text = labels_text(metric.label);
            } else {
                if (!metric.label.empty()) {
                    fact.name += "{" + labels_text(metric.label) + "}";
                }
                fact.text = is_timestamp(name) && value > 0 ? format_unix_time(value)
                                                            : format_number(value);
            }
            summary.facts.push_back(std::move(fact));
        }
    }
    const bool has_resolve = std::any_of(summary.phases.begin(), summary.phases.end(),
                                         [](const CheckPhase& p) { return p.name == "resolve"; });
    if (lookup && !has_resolve) {
        summary.phases.push_back({"resolve", *lookup});
    }
    std::stable_sort(summary.phases.begin(), summary.phases.end(),
                     [](const CheckPhase& a, const CheckPhase& b) {
                         return phase_rank(a.name) < phase_rank(b.name);
                     });
    return summary;
}

std::string render_check_text(const CheckResult& result, bool colour) {
    std::string out;
    out += result.success ? paint("OK", kGreen, colour) : paint("FAIL", kRed, colour);
    out += " " + paint(result.module, kBold, colour) + " " + result.target + " in " +
           format_ms(result.duration_seconds) + "\n";
    CheckSummary summary;
    if (result.registry) {
        summary = summarise_registry(*result.registry);
    }
    std::size_t width = 0;
    for (const auto& phase : summary.phases) {
        width = std::max(width, phase.name.size());
    }
    for (const auto& fact : summary.facts) {
        width = std::max(width, fact.name.size());
    }
    const auto row = [&](const std::string& name, const std::string& value) {
        out += "    " + name + std::string(width - name.size() + 2, ' ') + value + "\n";
    };
    if (!summary.phases.empty()) {
        out += "  phases:\n";
        for (const auto& phase : summary.phases) {
            row(phase.name, format_ms(phase.seconds));
        }
    }
    if (!summary.facts.empty()) {
        out += "  facts:\n";
        for (const auto& fact : summary.facts) {
            row(fact.name, fact.text);
        }
    }
    if (!result.success) {
        out += "  reason: " +
               paint(result.detail.empty() ? std::string("(none given)") : result.detail, kRed,
                     colour) +
               "\n";
    }
    return out;
}

nlohmann::ordered_json check_json(const CheckResult& result) {
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    json["module"] = result.module;
    json["target"] = result.target;
    json["success"] = result.success;
    json["duration_seconds"] = result.duration_seconds;
    CheckSummary summary;
    if (result.registry) {
        summary = summarise_registry(*result.registry);
    }
    nlohmann::ordered_json phases = nlohmann::ordered_json::object();
    for (const auto& phase : summary.phases) {
        phases[phase.name] = phase.seconds;
    }
    json["phases"] = std::move(phases);
    nlohmann::ordered_json facts = nlohmann::ordered_json::object();
    for (const auto& fact : summary.facts) {
        if (fact.text == format_number(fact.value)) {
            facts[fact.name] = fact.value;
        } else {
            facts[fact.name] = fact.text;
        }
    }
    json["facts"] = std::move(facts);
    if (!result.success) {
        json["reason"] = result.detail;
    }
    return json;
}

std::string render_check_summary(std::size_t targets, std::size_t probes, std::size_t failed) {
    const auto plural = [](std::size_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    return plural(targets, "target", "targets") + ", " + plural(probes, "probe", "probes") + ", " +
           std::to_string(probes - failed) + " succeeded, " + std::to_string(failed) + " failed";
}

}  // namespace sonde::app

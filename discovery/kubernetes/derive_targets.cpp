#include "discovery/kubernetes/derive_targets.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "discovery/kubernetes/json_member.hpp"

namespace sonde::discovery::kubernetes {
namespace {

using nlohmann::json;

std::string string_member(const json& object, std::string_view key) {
    const json* value = json_member(object, key);
    return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

const json* array_member(const json& object, std::string_view key) {
    const json* value = json_member(object, key);
    return value != nullptr && value->is_array() ? value : nullptr;
}

// The annotations that concern sonde, read once per object.
struct Annotations {
    const json* map = nullptr;

    const std::string* get(std::string_view key, std::string& storage) const {
        const json* value = map == nullptr ? nullptr : json_member(*map, key);
        if (value == nullptr || !value->is_string()) {
            return nullptr;
        }
        storage = value->get<std::string>();
        return &storage;
    }
};

Error bad_annotation(std::string_view key, const std::string& value, std::string_view why) {
    return unexpected("annotation " + std::string(key) + " \"" + value + "\": " + std::string(why));
}

struct Common {
    std::string ns;
    std::string name;
    std::string module;
    std::chrono::milliseconds interval{0};
    std::optional<std::string> scheme;
    std::optional<std::string> path;
    std::optional<std::string> port;
};

// Identity, opt-in and the overrides shared by both kinds. nullopt: the object does not opt in.
Result<std::optional<Common>> read_common(const json& object, const std::string& default_module,
                                          const DeriveOptions& options) {
    const json* metadata = json_member(object, "metadata");
    if (metadata == nullptr || !metadata->is_object()) {
        return unexpected("the object has no metadata");
    }
    Annotations annotations{json_member(*metadata, "annotations")};
    std::string value;
    const std::string* probe = annotations.get(kProbeAnnotation, value);
    const bool opted_in = options.probe_all ? (probe == nullptr || *probe != "false")
                                            : (probe != nullptr && *probe == "true");
    if (!opted_in) {
        return std::optional<Common>();
    }
    Common common;
    common.ns = string_member(*metadata, "namespace");
    common.name = string_member(*metadata, "name");
    if (common.ns.empty() || common.name.empty()) {
        return unexpected("the object has no metadata.name or metadata.namespace");
    }
    common.module = default_module;
    common.interval = options.interval;
    if (const std::string* module = annotations.get(kModuleAnnotation, value)) {
        if (module->empty()) {
            return bad_annotation(kModuleAnnotation, *module, "empty module name");
        }
        if (!options.modules.empty() && !options.modules.contains(*module)) {
            return bad_annotation(kModuleAnnotation, *module, "not a module of the config");
        }
        common.module = *module;
    }
    if (const std::string* interval = annotations.get(kIntervalAnnotation, value)) {
        auto parsed = parse_prometheus_duration(*interval);
        if (!parsed) {
            return bad_annotation(kIntervalAnnotation, *interval, parsed.error());
        }
        if (parsed->count() <= 0) {
            return bad_annotation(kIntervalAnnotation, *interval, "must be greater than 0");
        }
        common.interval = *parsed;
    }
    if (const std::string* scheme = annotations.get(kSchemeAnnotation, value)) {
        if (*scheme != "http" && *scheme != "https") {
            return bad_annotation(kSchemeAnnotation, *scheme, "must be http or https");
        }
        common.scheme = *scheme;
    }
    if (const std::string* path = annotations.get(kPathAnnotation, value)) {
        if (path->empty() || path->front() != '/') {
            return bad_annotation(kPathAnnotation, *path, "must start with '/'");
        }
        if (std::any_of(path->begin(), path->end(), [](char c) {
                return static_cast<unsigned char>(c) <= ' ' || c == '#' || c == 0x7f;
            })) {
            return bad_annotation(kPathAnnotation, *path,
                                  "must not hold spaces, control characters or '#'");
        }
        common.path = *path;
    }
    if (const std::string* port = annotations.get(kPortAnnotation, value)) {
        common.port = *port;
    }
    return std::optional<Common>(std::move(common));
}

Target make_target(const Common& common, std::string_view kind, std::string target) {
    Target out;
    out.module = common.module;
    out.target = std::move(target);
    out.interval = common.interval;
    out.labels = {{"namespace", common.ns}, {"kind", std::string(kind)}, {"name", common.name}};
    return out;
}

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct ServicePort {
    std::string name;
    std::int64_t number = 0;
};

// Which of the ports sonde.io/port selects (all of them without it).
Result<std::vector<ServicePort>> select_ports(const std::vector<ServicePort>& ports,
                                              const std::optional<std::string>& selector) {
    if (!selector) {
        return ports;
    }
    std::vector<bool> chosen(ports.size(), false);
    std::string_view rest = *selector;
    while (true) {
        const auto comma = rest.find(',');
        const std::string token = trim(rest.substr(0, comma));
        if (token.empty()) {
            return bad_annotation(kPortAnnotation, *selector, "empty port name or number");
        }
        bool found = false;
        for (std::size_t i = 0; i < ports.size(); ++i) {
            const bool match = all_digits(token)
                                   ? (token.size() <= 5 && std::stoll(token) == ports[i].number)
                                   : token == ports[i].name;
            if (match) {
                chosen[i] = true;
                found = true;
            }
        }
        if (!found) {
            return bad_annotation(kPortAnnotation, *selector,
                                  "no port of the Service is named or numbered \"" + token + "\"");
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
    std::vector<ServicePort> out;
    for (std::size_t i = 0; i < ports.size(); ++i) {
        if (chosen[i]) {
            out.push_back(ports[i]);
        }
    }
    return out;
}

void add_unique(TargetSet& targets, Target target) {
    const bool seen = std::any_of(targets.begin(), targets.end(),
                                  [&](const Target& t) { return t.target == target.target; });
    if (!seen) {
        targets.push_back(std::move(target));
    }
}

// The union of spec.tls[].hosts.
std::vector<std::string> ingress_tls_hosts(const json* spec) {
    std::vector<std::string> hosts;
    const json* tls = spec == nullptr ? nullptr : array_member(*spec, "tls");
    if (tls == nullptr) {
        return hosts;
    }
    for (const json& entry : *tls) {
        const json* list = array_member(entry, "hosts");
        if (list == nullptr) {
            continue;
        }
        for (const json& host : *list) {
            if (host.is_string()) {
                hosts.push_back(host.get<std::string>());
            }
        }
    }
    return hosts;
}

// A rule's paths: "/" without http, and for a path entry without a path.
std::vector<std::string> rule_paths(const json& rule) {
    const json* http = json_member(rule, "http");
    const json* list = http == nullptr ? nullptr : array_member(*http, "paths");
    if (list == nullptr) {
        return {"/"};
    }
    std::vector<std::string> paths;
    for (const json& path : *list) {
        std::string p = string_member(path, "path");
        if (p.empty()) {
            p = "/";
        }
        paths.push_back(std::move(p));
    }
    return paths;
}

}  // namespace

Result<TargetSet> service_targets(const json& service, const DeriveOptions& options) {
    auto common = read_common(service, options.service_module, options);
    if (!common) {
        return unexpected(common.error());
    }
    if (!common->has_value()) {
        return TargetSet{};
    }
    const Common& c = **common;
    std::vector<ServicePort> ports;
    const json* spec = json_member(service, "spec");
    const json* port_list = spec == nullptr ? nullptr : array_member(*spec, "ports");
    if (port_list != nullptr) {
        for (const json& port : *port_list) {
            const json* number = json_member(port, "port");
            if (number == nullptr || !number->is_number_integer()) {
                return unexpected("spec.ports[] entry without an integer port");
            }
            ports.push_back({string_member(port, "name"), number->get<std::int64_t>()});
        }
    }
    if (c.port && ports.empty()) {
        return bad_annotation(kPortAnnotation, *c.port, "the Service has no ports");
    }
    auto selected = select_ports(ports, c.port);
    if (!selected) {
        return unexpected(selected.error());
    }
    TargetSet targets;
    for (const ServicePort& port : *selected) {
        std::string address = c.name;
        address.append(".").append(c.ns).append(".svc:").append(std::to_string(port.number));
        if (c.scheme || c.path) {
            address =
                c.scheme.value_or("http").append("://").append(address).append(c.path.value_or(""));
        }
        add_unique(targets, make_target(c, "Service", std::move(address)));
    }
    return targets;
}

Result<TargetSet> ingress_targets(const json& ingress, const DeriveOptions& options) {
    auto common = read_common(ingress, options.ingress_module, options);
    if (!common) {
        return unexpected(common.error());
    }
    if (!common->has_value()) {
        return TargetSet{};
    }
    const Common& c = **common;
    if (c.port) {
        return bad_annotation(kPortAnnotation, *c.port, "applies to Services only");
    }
    const json* spec = json_member(ingress, "spec");
    const std::vector<std::string> tls_hosts = ingress_tls_hosts(spec);
    TargetSet targets;
    const json* rules = spec == nullptr ? nullptr : array_member(*spec, "rules");
    if (rules == nullptr) {
        return targets;
    }
    for (const json& rule : *rules) {
        const std::string host = string_member(rule, "host");
        if (host.empty()) {
            continue;
        }
        const bool tls = std::any_of(tls_hosts.begin(), tls_hosts.end(), [&](const auto& pattern) {
            return matches_hostname_pattern(pattern, host);
        });
        const std::string scheme = c.scheme.value_or(tls ? "https" : "http");
        for (const std::string& path : rule_paths(rule)) {
            std::string address = scheme;
            address.append("://").append(host).append(c.path.value_or(path));
            add_unique(targets, make_target(c, "Ingress", std::move(address)));
        }
    }
    return targets;
}

Result<std::chrono::milliseconds> parse_prometheus_duration(std::string_view text) {
    if (text == "0") {
        return std::chrono::milliseconds(0);
    }
    if (text.empty()) {
        return unexpected("empty duration string");
    }
    struct Unit {
        std::string_view name;
        std::int64_t ms;
    };
    // In the order the groups must appear; "ms" is tried before "m" at each position.
    static constexpr Unit kUnits[] = {
        {"y", 365LL * 24 * 3600 * 1000},
        {"w", 7LL * 24 * 3600 * 1000},
        {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},
        {"m", 60LL * 1000},
        {"s", 1000},
        {"ms", 1},
    };
    const Error invalid = unexpected("not a valid duration string: \"" + std::string(text) + "\"");
    std::size_t next_unit = 0;
    std::size_t i = 0;
    std::int64_t total = 0;
    while (i < text.size()) {
        const std::size_t digits_start = i;
        std::int64_t value = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
                return unexpected("duration out of range");
            }
            value = value * 10 + (text[i] - '0');
            ++i;
        }
        if (i == digits_start) {
            return invalid;
        }
        const std::string_view rest = text.substr(i);
        std::size_t unit = 0;
        if (rest.substr(0, 2) == "ms") {
            unit = 6;
        } else if (!rest.empty()) {
            const auto* const it =
                std::find_if(std::begin(kUnits), std::end(kUnits) - 1,
                             [&](const Unit& u) { return u.name[0] == rest[0]; });
            if (it == std::end(kUnits) - 1) {
                return invalid;
            }
            unit = static_cast<std::size_t>(it - std::begin(kUnits));
        } else {
            return invalid;
        }
        if (unit < next_unit) {
            return invalid;
        }
        next_unit = unit + 1;
        i += kUnits[unit].name.size();
        if (value > (std::numeric_limits<std::int64_t>::max() - total) / kUnits[unit].ms) {
            return unexpected("duration out of range");
        }
        total += value * kUnits[unit].ms;
    }
    return std::chrono::milliseconds(total);
}

bool matches_hostname_pattern(std::string_view pattern, std::string_view host) {
    if (pattern == host) {
        return true;
    }
    // Prometheus splits both on '.': the pattern's first label must be "*", both must have as
    // many labels, and all labels after the first must be equal. So "*.example.com" matches
    // "a.example.com" but neither "example.com" nor "a.b.example.com".
    const auto split = [](std::string_view text) {
        std::vector<std::string_view> parts;
        while (true) {
            const auto dot = text.find('.');
            parts.push_back(text.substr(0, dot));
            if (dot == std::string_view::npos) {
                return parts;
            }
            text.remove_prefix(dot + 1);
        }
    };
    const auto pattern_parts = split(pattern);
    const auto host_parts = split(host);
    if (pattern_parts.front() != "*" || pattern_parts.size() != host_parts.size()) {
        return false;
    }
    return std::equal(pattern_parts.begin() + 1, pattern_parts.end(), host_parts.begin() + 1);
}

}  // namespace sonde::discovery::kubernetes

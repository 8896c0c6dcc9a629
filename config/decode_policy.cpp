// sonde's own top-level `probe_policy:` section (config/probe_policy.hpp), read as strictly as
// the exporter's blocks: every CIDR and host pattern is checked here, with its position.

#include "config/decoders.hpp"
#include "config/probe_policy.hpp"

namespace sonde::config::detail {
namespace {

std::vector<Cidr> decode_cidrs(const YAML::Node& node, std::string_view key) {
    std::vector<Cidr> out;
    for_each_item(node, key, [&](const YAML::Node& item) {
        auto cidr = parse_cidr(as_string(item));
        if (!cidr) {
            fail(item.Mark(), "probe_policy." + std::string(key) + ": " + cidr.error());
        }
        out.push_back(std::move(*cidr));
    });
    return out;
}

std::vector<HostPattern> decode_patterns(const YAML::Node& node, std::string_view key) {
    std::vector<HostPattern> out;
    for_each_item(node, key, [&](const YAML::Node& item) {
        auto pattern = parse_host_pattern(as_string(item));
        if (!pattern) {
            fail(item.Mark(), "probe_policy." + std::string(key) + ": " + pattern.error());
        }
        out.push_back(std::move(*pattern));
    });
    return out;
}

void emit_list(YAML::Emitter& e, const char* key, const std::vector<std::string>& items) {
    if (!items.empty()) {
        e << YAML::Key << key << YAML::Value << YAML::Flow << items;
    }
}

}  // namespace

void decode_probe_policy(const YAML::Node& node, Config& out, DecodeContext& /*ctx*/) {
    // As `kubernetes:`, a null section turns nothing on; `probe_policy: {}` is a policy with no
    // rules (everything allowed).
    if (is_null(node)) {
        return;
    }
    auto policy = std::make_shared<ProbePolicy>();
    decode_fields(node, "probe_policy", [&](const std::string& key, const YAML::Node& value) {
        if (key == "allow_cidrs") {
            policy->allow_cidrs = decode_cidrs(value, key);
        } else if (key == "deny_cidrs") {
            policy->deny_cidrs = decode_cidrs(value, key);
        } else if (key == "allow_hosts") {
            policy->allow_hosts = decode_patterns(value, key);
        } else if (key == "deny_hosts") {
            policy->deny_hosts = decode_patterns(value, key);
        } else if (key == "scheduled") {
            policy->scheduled = as_bool(value);
        } else {
            return false;
        }
        return true;
    });
    out.probe_policy = std::move(policy);
}

void emit_probe_policy(YAML::Emitter& e, const ProbePolicy& policy) {
    auto texts = [](const auto& items) {
        std::vector<std::string> out;
        for (const auto& item : items) {
            out.push_back(item.text);
        }
        return out;
    };
    e << YAML::Key << "probe_policy" << YAML::Value << YAML::BeginMap;
    emit_list(e, "allow_cidrs", texts(policy.allow_cidrs));
    emit_list(e, "deny_cidrs", texts(policy.deny_cidrs));
    emit_list(e, "allow_hosts", texts(policy.allow_hosts));
    emit_list(e, "deny_hosts", texts(policy.deny_hosts));
    e << YAML::Key << "scheduled" << YAML::Value << policy.scheduled;
    e << YAML::EndMap;
}

}  // namespace sonde::config::detail

// sonde's own top-level `discovery:` section (only `kubernetes:` so far), read as strictly as the
// exporter's blocks. The default modules must name modules of the config; as `modules:` may come
// after `discovery:` in the file, that check runs once the whole file is decoded.

#include <algorithm>

#include "config/decoders.hpp"

namespace sonde::config::detail {
namespace {

constexpr std::string_view kRoleService = "service";
constexpr std::string_view kRoleIngress = "ingress";

void check_module(const Config& config, std::string_view key, const std::string& module,
                  const YAML::Mark& mark) {
    if (!config.modules.contains(module)) {
        fail(mark, "discovery.kubernetes." + std::string(key) + " \"" + module +
                       "\" is not a module of the config");
    }
}

void decode_roles(const YAML::Node& node, KubernetesDiscoveryConfig& out) {
    out.services = false;
    out.ingresses = false;
    for_each_item(node, "roles", [&](const YAML::Node& item) {
        const std::string role = as_string(item);
        if (role == kRoleService) {
            out.services = true;
        } else if (role == kRoleIngress) {
            out.ingresses = true;
        } else {
            fail(item.Mark(), "unknown role \"" + role + "\" (valid roles: service, ingress)");
        }
    });
    if (!out.services && !out.ingresses) {
        fail(node.Mark(), "roles must name at least one of service, ingress");
    }
}

void decode_kubernetes(const YAML::Node& node, KubernetesDiscoveryConfig& out, DecodeContext& ctx) {
    YAML::Mark interval_mark = node.Mark();
    const Fields fields =
        decode_fields(node, "kubernetes", [&](const std::string& key, const YAML::Node& value) {
            if (key == "kubeconfig") {
                out.kubeconfig = as_string(value);
            } else if (key == "namespaces") {
                for_each_item(value, "namespaces", [&](const YAML::Node& item) {
                    std::string name = as_string(item);
                    if (name.empty()) {
                        fail(item.Mark(), "namespaces: a namespace name cannot be empty");
                    }
                    if (std::find(out.namespaces.begin(), out.namespaces.end(), name) ==
                        out.namespaces.end()) {
                        out.namespaces.push_back(std::move(name));
                    }
                });
            } else if (key == "label_selector") {
                out.label_selector = as_string(value);
            } else if (key == "roles") {
                decode_roles(value, out);
            } else if (key == "probe_all") {
                out.probe_all = as_bool(value);
            } else if (key == "interval") {
                out.interval = as_duration(value);
                interval_mark = value.Mark();
            } else if (key == "service_module") {
                out.service_module = as_string(value);
            } else if (key == "ingress_module") {
                out.ingress_module = as_string(value);
            } else {
                return false;
            }
            return true;
        });
    if (out.interval <= Duration{0}) {
        fail(interval_mark, "discovery.kubernetes.interval must be greater than 0");
    }
    // The key's mark, or the block's when the key was not written, so that a default module
    // that does not exist is reported where it applies.
    const YAML::Mark service_mark = fields.mark("service_module");
    const YAML::Mark ingress_mark = fields.mark("ingress_module");
    const KubernetesDiscoveryConfig* decoded = &out;
    ctx.after_decode.emplace_back([decoded, service_mark, ingress_mark](const Config& config) {
        if (decoded->services) {
            check_module(config, "service_module", decoded->service_module, service_mark);
        }
        if (decoded->ingresses) {
            check_module(config, "ingress_module", decoded->ingress_module, ingress_mark);
        }
    });
}

}  // namespace

void decode_discovery(const YAML::Node& node, Config& out, DecodeContext& ctx) {
    decode_fields(node, "discovery", [&](const std::string& key, const YAML::Node& value) {
        if (key == "kubernetes") {
            // As yaml.v3 leaves a pointer nil for a null value, `kubernetes:` alone turns
            // nothing on; `kubernetes: {}` is discovery with every default.
            if (!is_null(value)) {
                out.discovery.kubernetes.emplace();
                decode_kubernetes(value, *out.discovery.kubernetes, ctx);
            }
            return true;
        }
        return false;
    });
}

}  // namespace sonde::config::detail

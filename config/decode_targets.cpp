// sonde's `targets:` section: static targets probed on sonde's own schedule.

#include "config/decoders.hpp"

namespace sonde::config::detail {
namespace {

// Prometheus' label name syntax; names starting with "__" are reserved for its internal use.
bool valid_label_name(const std::string& name) {
    if (name.empty() || name.starts_with("__")) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!letter && !(digit && i > 0)) {
            return false;
        }
    }
    return true;
}

// sonde sets these on every series of a scheduled target itself.
constexpr const char* kReservedLabels[] = {"target", "module"};

StaticTargetGroup decode_group(const YAML::Node& node, DecodeContext& ctx) {
    StaticTargetGroup group;
    group.line = node.Mark().line + 1;
    YAML::Mark module_mark = node.Mark();
    const Fields fields =
        decode_fields(node, "targets", [&](const std::string& key, const YAML::Node& value) {
            if (key == "module") {
                group.module = as_string(value);
                module_mark = value.Mark();
            } else if (key == "targets") {
                for_each_item(value, "targets", [&](const YAML::Node& item) {
                    std::string target = as_string(item);
                    if (target.empty()) {
                        fail(item.Mark(), "a target must not be empty");
                    }
                    group.targets.push_back(std::move(target));
                });
            } else if (key == "interval") {
                group.interval = as_duration(value);
                if (group.interval < std::chrono::seconds(1)) {
                    fail(value.Mark(), "interval must be at least 1s");
                }
            } else if (key == "labels") {
                const Fields names = decode_fields(
                    value, "labels", [&](const std::string& name, const YAML::Node& v) {
                        group.labels.emplace_back(name, as_string(v));
                        return true;
                    });
                // Checked once decoded, so that the error points at the label's name.
                for (const auto& [name, unused] : group.labels) {
                    if (!valid_label_name(name)) {
                        fail(names.mark(name), "\"" + name + "\" is not a valid label name");
                    }
                    for (const char* reserved : kReservedLabels) {
                        if (name == reserved) {
                            fail(names.mark(name),
                                 "label \"" + name +
                                     "\" is set by sonde itself and cannot be configured");
                        }
                    }
                }
            } else {
                return false;
            }
            return true;
        });
    if (!fields.has("module")) {
        fail(fields.block(), "a targets entry needs a module");
    }
    if (group.targets.empty()) {
        fail(fields.mark("targets"), "a targets entry needs at least one target");
    }
    const std::string module = group.module;
    ctx.after_decode.emplace_back([module, module_mark](const Config& config) {
        if (config.modules.count(module) == 0) {
            fail(module_mark, "targets: unknown module \"" + module + "\"");
        }
    });
    return group;
}

}  // namespace

void decode_targets(const YAML::Node& node, Config& out, DecodeContext& ctx) {
    for_each_item(node, "targets",
                  [&](const YAML::Node& item) { out.targets.push_back(decode_group(item, ctx)); });
}

}  // namespace sonde::config::detail

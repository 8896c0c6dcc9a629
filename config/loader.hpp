#pragma once

// Loading a config: file or text -> validated, immutable Config.
//
// Errors are returned, never thrown: each names the source, the line and the column of the
// offending YAML node ("blackbox.yml:50:5: field invalid_extra_field not found in module dns"),
// followed by the exporter's wording of the reason where it has one, so that the conformance
// files are rejected for the reason upstream gives.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/result.hpp"

namespace sonde::config {

struct LoadedConfig {
    std::shared_ptr<const Config> config;
    std::vector<std::string> warnings;  // e.g. deprecated keys; the config is still valid
};

[[nodiscard]] Result<LoadedConfig> load_config_file(const std::string& path);
[[nodiscard]] Result<LoadedConfig> load_config_text(std::string_view text,
                                                    const std::string& source);

// The exporter's shipped blackbox.yml, used when the default --config.file does not exist.
std::string_view builtin_config_text();

// YAML of the whole config / one module with defaults filled in and secrets as <secret>, for
// /config and the "Module configuration:" part of debug output.
std::string render_config_yaml(const Config& config);
std::string render_module_yaml(const Module& module);

}  // namespace sonde::config

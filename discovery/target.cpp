#include "discovery/target.hpp"

namespace sonde::discovery {

std::string target_key(const Target& target) {
    // NUL cannot appear in YAML strings or Kubernetes names, so it separates fields unambiguously.
    std::string key;
    key.reserve(target.module.size() + target.target.size() + 32);
    key += target.module;
    key += '\0';
    key += target.target;
    for (const auto& [name, value] : target.labels) {
        key += '\0';
        key += name;
        key += '=';
        key += value;
    }
    return key;
}

}  // namespace sonde::discovery

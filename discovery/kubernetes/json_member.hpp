#pragma once

// Reading Kubernetes objects without throwing: the API server's JSON is trusted to be
// well-formed, not to have the shape we expect (a fake or a proxy may send anything).

#include <string_view>

#include <nlohmann/json.hpp>

namespace sonde::discovery::kubernetes {

// The member `key` of object, or null when object is not an object or has no such member.
inline const nlohmann::json* json_member(const nlohmann::json& object, std::string_view key) {
    if (!object.is_object()) {
        return nullptr;
    }
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

}  // namespace sonde::discovery::kubernetes

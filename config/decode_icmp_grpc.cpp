// The two small blocks: `icmp:` (with its ttl range check) and `grpc:`.

#include "config/decoders.hpp"

namespace sonde::config::detail {

void decode_icmp(const YAML::Node& node, IcmpProbe& out) {
    YAML::Mark ttl_mark;
    std::int64_t ttl = out.ttl;
    decode_fields(node, "icmp", [&](const std::string& key, const YAML::Node& value) {
        if (key == "preferred_ip_protocol") {
            out.preferred_ip_protocol = as_string(value);
        } else if (key == "ip_protocol_fallback") {
            out.ip_protocol_fallback = as_bool(value);
        } else if (key == "source_ip_address") {
            out.source_ip_address = as_string(value);
        } else if (key == "payload_size") {
            out.payload_size = as_int_in(value, INT32_MIN, INT32_MAX);
        } else if (key == "dont_fragment") {
            out.dont_fragment = as_bool(value);
        } else if (key == "ttl") {
            ttl = as_int(value);
            ttl_mark = value.Mark();
        } else {
            return false;
        }
        return true;
    });
    if (ttl < 0) {
        fail(ttl_mark, "\"ttl\" cannot be negative");
    }
    if (ttl > 255) {
        fail(ttl_mark, "\"ttl\" cannot exceed 255");
    }
    out.ttl = static_cast<int>(ttl);
}

void decode_grpc(const YAML::Node& node, GrpcProbe& out) {
    decode_fields(node, "grpc", [&](const std::string& key, const YAML::Node& value) {
        if (key == "service") {
            out.service = as_string(value);
        } else if (key == "tls") {
            out.tls = as_bool(value);
        } else if (key == "tls_config") {
            decode_tls_config(value, out.tls_config);
        } else if (key == "preferred_ip_protocol") {
            out.preferred_ip_protocol = as_string(value);
        } else if (key == "ip_protocol_fallback") {
            out.ip_protocol_fallback = as_bool(value);
        } else if (key == "metadata") {
            decode_fields(value, "metadata", [&](const std::string& name, const YAML::Node& list) {
                out.metadata[name] = as_string_list(list);
                return true;
            });
        } else {
            return false;
        }
        return true;
    });
}

}  // namespace sonde::config::detail

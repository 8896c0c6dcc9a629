// A module (`prober`, `timeout` and the per-prober blocks) and the file's top-level sections.

#include "config/decoders.hpp"

namespace sonde::config::detail {
namespace {

// The exporter's kinds, then sonde's own (`tls`).
constexpr ProberKind kProbers[] = {ProberKind::Http,      ProberKind::Tcp,  ProberKind::Dns,
                                   ProberKind::Icmp,      ProberKind::Grpc, ProberKind::Unix,
                                   ProberKind::Websocket, ProberKind::Tls};

void decode_modules(const YAML::Node& node, Config& out, DecodeContext& ctx) {
    decode_fields(node, "modules", [&](const std::string& name, const YAML::Node& value) {
        out.modules[name] = decode_module(value, ctx);
        return true;
    });
}

// The top-level sections: the exporter's `modules:` and sonde's own, one row each.
struct Section {
    std::string_view key;
    void (*decode)(const YAML::Node& node, Config& out, DecodeContext& ctx);
};
constexpr Section kSections[] = {
    {"modules", decode_modules},
    {"targets", decode_targets},
    {"discovery", decode_discovery},
    {"probe_policy", decode_probe_policy},
};

}  // namespace

Module decode_module(const YAML::Node& node, DecodeContext& ctx) {
    Module module;
    std::string prober;
    YAML::Mark prober_mark = node.Mark();
    decode_fields(node, "module", [&](const std::string& key, const YAML::Node& value) {
        if (key == "prober") {
            prober = as_string(value);
            prober_mark = value.Mark();
        } else if (key == "timeout") {
            module.timeout = as_duration(value);
        } else if (key == "http") {
            decode_http(value, module.http, ctx);
        } else if (key == "tcp") {
            decode_tcp(value, module.tcp);
        } else if (key == "dns") {
            decode_dns(value, module.dns);
        } else if (key == "icmp") {
            decode_icmp(value, module.icmp);
        } else if (key == "grpc") {
            decode_grpc(value, module.grpc);
        } else if (key == "unix") {
            decode_unix(value, module.unix_socket);
        } else if (key == "websocket") {
            decode_websocket(value, module.websocket);
        } else if (key == "tls") {
            decode_tls_probe(value, module.tls);
        } else {
            return false;
        }
        return true;
    });
    // Checked after the blocks, as Module.UnmarshalYAML does once the plain decode succeeded.
    for (ProberKind kind : kProbers) {
        if (prober == prober_name(kind)) {
            module.prober = kind;
            return module;
        }
    }
    fail(prober_mark, "prober '" + prober + "' is not valid");
}

void decode_config(const YAML::Node& root, Config& out, DecodeContext& ctx) {
    decode_fields(root, "config", [&](const std::string& key, const YAML::Node& value) {
        for (const Section& section : kSections) {
            if (key == section.key) {
                section.decode(value, out, ctx);
                return true;
            }
        }
        return false;
    });
    for (const auto& check : ctx.after_decode) {
        check(out);
    }
}

}  // namespace sonde::config::detail

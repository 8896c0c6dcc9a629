// sonde's `tls:` block (`prober: tls`): where to connect, the standard tls_config, the expiry
// window and the STARTTLS protocol, read as strictly as the exporter's blocks.

#include "config/decoders.hpp"

namespace sonde::config::detail {
namespace {

constexpr StartTls kStartTlsProtocols[] = {StartTls::Smtp, StartTls::Imap, StartTls::Pop3,
                                           StartTls::Ftp, StartTls::Postgres};

StartTls as_starttls(const YAML::Node& node) {
    const std::string name = as_string(node);
    if (name.empty()) {
        return StartTls::None;
    }
    for (StartTls protocol : kStartTlsProtocols) {
        if (name == starttls_name(protocol)) {
            return protocol;
        }
    }
    fail(node.Mark(),
         "starttls '" + name + "' is not valid (one of smtp, imap, pop3, ftp, postgres)");
}

}  // namespace

void decode_tls_probe(const YAML::Node& node, TlsProbe& out) {
    decode_fields(node, "tls", [&](const std::string& key, const YAML::Node& value) {
        if (key == "preferred_ip_protocol") {
            out.preferred_ip_protocol = as_string(value);
        } else if (key == "ip_protocol_fallback") {
            out.ip_protocol_fallback = as_bool(value);
        } else if (key == "source_ip_address") {
            out.source_ip_address = as_string(value);
        } else if (key == "tls_config") {
            decode_tls_config(value, out.tls_config);
        } else if (key == "fail_if_expires_within") {
            out.fail_if_expires_within = as_duration(value);
            if (out.fail_if_expires_within.count() < 0) {
                fail(value.Mark(), "fail_if_expires_within cannot be negative");
            }
        } else if (key == "starttls") {
            out.starttls = as_starttls(value);
        } else {
            return false;
        }
        return true;
    });
}

}  // namespace sonde::config::detail

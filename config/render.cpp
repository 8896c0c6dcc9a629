// render_config_yaml / render_module_yaml: the loaded config back as YAML, defaults filled in
// and secrets as <secret>, in upstream's field order, for /config and debug output. The output
// loads again (a test checks it), so it can be copied into a file.

#include <yaml-cpp/yaml.h>

#include "config/decoders.hpp"
#include "config/duration.hpp"
#include "config/loader.hpp"
#include "config/redact.hpp"
#include "config/size.hpp"

namespace sonde::config {
namespace {

// Text that is not UTF-8, or that holds control characters YAML cannot carry in a scalar, is
// written as !!binary, which the loader turns back into the same bytes (send, expect_bytes).
bool is_plain_text(const std::string& text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = 1;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                return false;
            }
            if (c == 0x7f) {
                return false;
            }
        } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
            length = 2;
        } else if ((c & 0xF0) == 0xE0) {
            length = 3;
        } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
            length = 4;
        } else {
            return false;
        }
        if (i + length > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        i += length;
    }
    return true;
}

void value(YAML::Emitter& e, const std::string& text) {
    if (is_plain_text(text)) {
        e << YAML::DoubleQuoted << text;
    } else {
        e << YAML::Binary(reinterpret_cast<const unsigned char*>(text.data()), text.size());
    }
}

void str(YAML::Emitter& e, const char* key, const std::string& text) {
    if (!text.empty()) {
        e << YAML::Key << key << YAML::Value;
        value(e, text);
    }
}

void secret(YAML::Emitter& e, const char* key, const Secret& s) {
    if (!s.empty()) {
        e << YAML::Key << key << YAML::Value << "<secret>";
    }
}

void boolean(YAML::Emitter& e, const char* key, bool b) {
    e << YAML::Key << key << YAML::Value << b;
}

void string_list(YAML::Emitter& e, const char* key, const std::vector<std::string>& list) {
    if (list.empty()) {
        return;
    }
    e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const std::string& item : list) {
        value(e, item);
    }
    e << YAML::EndSeq;
}

void regex_list(YAML::Emitter& e, const char* key, const std::vector<Regex>& list) {
    if (list.empty()) {
        return;
    }
    e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const Regex& item : list) {
        value(e, item.pattern);
    }
    e << YAML::EndSeq;
}

const char* tls_version_name(TlsVersion version) {
    switch (version) {
        case TlsVersion::Tls10:
            return "TLS10";
        case TlsVersion::Tls11:
            return "TLS11";
        case TlsVersion::Tls12:
            return "TLS12";
        case TlsVersion::Tls13:
            return "TLS13";
    }
    return "";
}

void tls_config(YAML::Emitter& e, const TlsConfig& tls) {
    e << YAML::Key << "tls_config" << YAML::Value << YAML::BeginMap;
    str(e, "ca", tls.ca);
    str(e, "ca_file", tls.ca_file);
    str(e, "cert", tls.cert);
    str(e, "cert_file", tls.cert_file);
    secret(e, "key", tls.key);
    str(e, "key_file", tls.key_file);
    str(e, "server_name", tls.server_name);
    boolean(e, "insecure_skip_verify", tls.insecure_skip_verify);
    if (tls.min_version) {
        e << YAML::Key << "min_version" << YAML::Value << tls_version_name(*tls.min_version);
    }
    if (tls.max_version) {
        e << YAML::Key << "max_version" << YAML::Value << tls_version_name(*tls.max_version);
    }
    e << YAML::EndMap;
}

void auth(YAML::Emitter& e, const std::optional<BasicAuth>& basic,
          const std::optional<Authorization>& authorization) {
    if (basic) {
        e << YAML::Key << "basic_auth" << YAML::Value << YAML::BeginMap;
        str(e, "username", basic->username);
        str(e, "username_file", basic->username_file);
        secret(e, "password", basic->password);
        str(e, "password_file", basic->password_file);
        e << YAML::EndMap;
    }
    if (authorization) {
        e << YAML::Key << "authorization" << YAML::Value << YAML::BeginMap;
        str(e, "type", authorization->type);
        secret(e, "credentials", authorization->credentials);
        str(e, "credentials_file", authorization->credentials_file);
        e << YAML::EndMap;
    }
}

void header_values(YAML::Emitter& e, const char* key,
                   const std::map<std::string, HttpHeaderValues>& headers) {
    if (headers.empty()) {
        return;
    }
    e << YAML::Key << key << YAML::Value << YAML::BeginMap;
    for (const auto& [name, header] : headers) {
        e << YAML::Key << name << YAML::Value << YAML::BeginMap;
        string_list(e, "values", header.values);
        if (!header.secrets.empty()) {
            e << YAML::Key << "secrets" << YAML::Value << YAML::BeginSeq;
            for (std::size_t i = 0; i < header.secrets.size(); ++i) {
                e << "<secret>";
            }
            e << YAML::EndSeq;
        }
        string_list(e, "files", header.files);
        e << YAML::EndMap;
    }
    e << YAML::EndMap;
}

void header_matchers(YAML::Emitter& e, const char* key, const std::vector<HeaderMatch>& list) {
    if (list.empty()) {
        return;
    }
    e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const HeaderMatch& match : list) {
        e << YAML::BeginMap;
        str(e, "header", match.header);
        str(e, "regexp", match.regexp.pattern);
        boolean(e, "allow_missing", match.allow_missing);
        e << YAML::EndMap;
    }
    e << YAML::EndSeq;
}

void ip_protocol(YAML::Emitter& e, const std::string& preferred, bool fallback) {
    str(e, "preferred_ip_protocol", preferred);
    boolean(e, "ip_protocol_fallback", fallback);
}

void http(YAML::Emitter& e, const HttpProbe& h) {
    e << YAML::BeginMap;
    if (!h.valid_status_codes.empty()) {
        e << YAML::Key << "valid_status_codes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (int code : h.valid_status_codes) {
            e << code;
        }
        e << YAML::EndSeq;
    }
    string_list(e, "valid_http_versions", h.valid_http_versions);
    ip_protocol(e, h.preferred_ip_protocol, h.ip_protocol_fallback);
    boolean(e, "skip_resolve_phase_with_proxy", h.skip_resolve_phase_with_proxy);
    boolean(e, "fail_if_ssl", h.fail_if_ssl);
    boolean(e, "fail_if_not_ssl", h.fail_if_not_ssl);
    str(e, "method", h.method);
    if (!h.headers.empty()) {
        e << YAML::Key << "headers" << YAML::Value << YAML::BeginMap;
        for (const auto& [name, header] : h.headers) {
            e << YAML::Key << name << YAML::Value;
            value(e, header);
        }
        e << YAML::EndMap;
    }
    regex_list(e, "fail_if_body_matches_regexp", h.fail_if_body_matches_regexp);
    regex_list(e, "fail_if_body_not_matches_regexp", h.fail_if_body_not_matches_regexp);
    str(e, "fail_if_body_json_matches_cel", h.fail_if_body_json_matches_cel);
    str(e, "fail_if_body_json_not_matches_cel", h.fail_if_body_json_not_matches_cel);
    header_matchers(e, "fail_if_header_matches", h.fail_if_header_matches);
    header_matchers(e, "fail_if_header_not_matches", h.fail_if_header_not_matches);
    str(e, "body", h.body);
    str(e, "body_file", h.body_file);
    // The inlined HTTP client config.
    auth(e, h.basic_auth, h.authorization);
    if (h.oauth2) {
        const OAuth2& o = *h.oauth2;
        e << YAML::Key << "oauth2" << YAML::Value << YAML::BeginMap;
        str(e, "client_id", o.client_id);
        secret(e, "client_secret", o.client_secret);
        str(e, "client_secret_file", o.client_secret_file);
        string_list(e, "scopes", o.scopes);
        str(e, "token_url", o.token_url);
        if (!o.endpoint_params.empty()) {
            e << YAML::Key << "endpoint_params" << YAML::Value << YAML::BeginMap;
            for (const auto& [name, param] : o.endpoint_params) {
                e << YAML::Key << name << YAML::Value;
                value(e, param);
            }
            e << YAML::EndMap;
        }
        tls_config(e, o.tls_config);
        str(e, "proxy_url", redact_url(o.proxy_url));
        e << YAML::EndMap;
    }
    tls_config(e, h.tls_config);
    str(e, "proxy_url", redact_url(h.proxy_url));
    str(e, "no_proxy", h.no_proxy);
    boolean(e, "proxy_from_environment", h.proxy_from_environment);
    if (!h.proxy_connect_header.empty()) {
        e << YAML::Key << "proxy_connect_header" << YAML::Value << YAML::BeginMap;
        for (const auto& [name, secrets] : h.proxy_connect_header) {
            e << YAML::Key << name << YAML::Value << YAML::BeginSeq;
            for (std::size_t i = 0; i < secrets.size(); ++i) {
                e << "<secret>";
            }
            e << YAML::EndSeq;
        }
        e << YAML::EndMap;
    }
    boolean(e, "follow_redirects", h.follow_redirects);
    boolean(e, "enable_http2", h.enable_http2);
    header_values(e, "http_headers", h.http_headers);
    str(e, "compression", h.compression);
    e << YAML::Key << "body_size_limit" << YAML::Value << format_base2_bytes(h.body_size_limit);
    boolean(e, "enable_http3", h.enable_http3);
    if (h.http2_prior_knowledge) {  // sonde's own key: shown only when used
        boolean(e, "http2_prior_knowledge", true);
    }
    e << YAML::EndMap;
}

void query_responses(YAML::Emitter& e, const std::vector<QueryResponse>& steps) {
    if (steps.empty()) {
        return;
    }
    e << YAML::Key << "query_response" << YAML::Value << YAML::BeginSeq;
    for (const QueryResponse& step : steps) {
        e << YAML::BeginMap;
        if (step.expect) {
            str(e, "expect", step.expect->pattern);
        }
        if (step.expect_bytes) {
            str(e, "expect_bytes", *step.expect_bytes);
        }
        if (!step.labels.empty()) {
            e << YAML::Key << "labels" << YAML::Value << YAML::BeginSeq;
            for (const ExpectLabel& label : step.labels) {
                e << YAML::BeginMap;
                str(e, "name", label.name);
                str(e, "value", label.value);
                e << YAML::EndMap;
            }
            e << YAML::EndSeq;
        }
        if (step.send) {
            e << YAML::Key << "send" << YAML::Value;
            value(e, *step.send);
        }
        boolean(e, "starttls", step.starttls);
        e << YAML::EndMap;
    }
    e << YAML::EndSeq;
}

void tcp(YAML::Emitter& e, const TcpProbe& t) {
    e << YAML::BeginMap;
    ip_protocol(e, t.preferred_ip_protocol, t.ip_protocol_fallback);
    str(e, "source_ip_address", t.source_ip_address);
    query_responses(e, t.query_response);
    boolean(e, "tls", t.tls);
    tls_config(e, t.tls_config);
    e << YAML::EndMap;
}

void rr_validator(YAML::Emitter& e, const char* key, const DnsRrValidator& v) {
    e << YAML::Key << key << YAML::Value << YAML::BeginMap;
    string_list(e, "fail_if_matches_regexp", v.fail_if_matches_regexp);
    string_list(e, "fail_if_all_match_regexp", v.fail_if_all_match_regexp);
    string_list(e, "fail_if_not_matches_regexp", v.fail_if_not_matches_regexp);
    string_list(e, "fail_if_none_matches_regexp", v.fail_if_none_matches_regexp);
    e << YAML::EndMap;
}

void dns(YAML::Emitter& e, const DnsProbe& d) {
    e << YAML::BeginMap;
    ip_protocol(e, d.preferred_ip_protocol, d.ip_protocol_fallback);
    boolean(e, "dns_over_tls", d.dns_over_tls);
    tls_config(e, d.tls_config);
    str(e, "source_ip_address", d.source_ip_address);
    str(e, "transport_protocol", d.transport_protocol);
    str(e, "query_class", d.query_class);
    str(e, "query_name", d.query_name);
    str(e, "query_type", d.query_type);
    boolean(e, "recursion_desired", d.recursion_desired);
    string_list(e, "valid_rcodes", d.valid_rcodes);
    rr_validator(e, "validate_answer_rrs", d.validate_answer_rrs);
    rr_validator(e, "validate_authority_rrs", d.validate_authority_rrs);
    rr_validator(e, "validate_additional_rrs", d.validate_additional_rrs);
    e << YAML::EndMap;
}

void icmp(YAML::Emitter& e, const IcmpProbe& i) {
    e << YAML::BeginMap;
    ip_protocol(e, i.preferred_ip_protocol, i.ip_protocol_fallback);
    str(e, "source_ip_address", i.source_ip_address);
    e << YAML::Key << "payload_size" << YAML::Value << i.payload_size;
    boolean(e, "dont_fragment", i.dont_fragment);
    e << YAML::Key << "ttl" << YAML::Value << i.ttl;
    e << YAML::EndMap;
}

void grpc(YAML::Emitter& e, const GrpcProbe& g) {
    e << YAML::BeginMap;
    str(e, "service", g.service);
    boolean(e, "tls", g.tls);
    tls_config(e, g.tls_config);
    ip_protocol(e, g.preferred_ip_protocol, g.ip_protocol_fallback);
    if (!g.metadata.empty()) {
        e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
        for (const auto& [name, values] : g.metadata) {
            string_list(e, name.c_str(), values);
        }
        e << YAML::EndMap;
    }
    e << YAML::EndMap;
}

void unix_socket(YAML::Emitter& e, const UnixProbe& u) {
    e << YAML::BeginMap;
    query_responses(e, u.query_response);
    boolean(e, "tls", u.tls);
    tls_config(e, u.tls_config);
    e << YAML::EndMap;
}

void websocket(YAML::Emitter& e, const WebsocketProbe& w) {
    e << YAML::BeginMap;
    e << YAML::Key << "http_config" << YAML::Value << YAML::BeginMap;
    tls_config(e, w.tls_config);
    auth(e, w.basic_auth, w.authorization);
    e << YAML::EndMap;
    header_values(e, "headers", w.headers);
    query_responses(e, w.query_response);
    ip_protocol(e, w.preferred_ip_protocol, w.ip_protocol_fallback);
    e << YAML::EndMap;
}

void tls_probe(YAML::Emitter& e, const TlsProbe& t) {
    e << YAML::BeginMap;
    ip_protocol(e, t.preferred_ip_protocol, t.ip_protocol_fallback);
    str(e, "source_ip_address", t.source_ip_address);
    tls_config(e, t.tls_config);
    e << YAML::Key << "fail_if_expires_within" << YAML::Value
      << format_go_duration(t.fail_if_expires_within);
    str(e, "starttls", starttls_name(t.starttls));
    e << YAML::EndMap;
}

template <class Block>
std::string render_block(void (*render)(YAML::Emitter&, const Block&), const Block& block) {
    YAML::Emitter e;
    e.SetIndent(4);
    render(e, block);
    return e.c_str();
}

// Writes one prober block. The block the module uses is always shown in full; the others only
// when they differ from their defaults, because an unused block at its defaults says nothing
// and a default `dns:` block (no query_name) would not load again.
template <class Block>
void block(YAML::Emitter& e, const char* key, bool used,
           void (*render)(YAML::Emitter&, const Block&), const Block& value) {
    if (!used && render_block(render, value) == render_block(render, Block{})) {
        return;
    }
    e << YAML::Key << key << YAML::Value;
    render(e, value);
}

void module(YAML::Emitter& e, const Module& m) {
    e << YAML::BeginMap;
    e << YAML::Key << "prober" << YAML::Value << prober_name(m.prober);
    e << YAML::Key << "timeout" << YAML::Value << format_go_duration(m.timeout);
    block(e, "http", m.prober == ProberKind::Http, http, m.http);
    block(e, "tcp", m.prober == ProberKind::Tcp, tcp, m.tcp);
    block(e, "dns", m.prober == ProberKind::Dns, dns, m.dns);
    block(e, "icmp", m.prober == ProberKind::Icmp, icmp, m.icmp);
    block(e, "grpc", m.prober == ProberKind::Grpc, grpc, m.grpc);
    block(e, "unix", m.prober == ProberKind::Unix, unix_socket, m.unix_socket);
    block(e, "websocket", m.prober == ProberKind::Websocket, websocket, m.websocket);
    block(e, "tls", m.prober == ProberKind::Tls, tls_probe, m.tls);
    e << YAML::EndMap;
}

}  // namespace

std::string render_module_yaml(const Module& m) {
    YAML::Emitter e;
    e.SetIndent(4);
    module(e, m);
    return std::string(e.c_str()) + "\n";
}

std::string render_config_yaml(const Config& config) {
    YAML::Emitter e;
    e.SetIndent(4);
    e << YAML::BeginMap << YAML::Key << "modules" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, m] : config.modules) {
        e << YAML::Key << name << YAML::Value;
        module(e, m);
    }
    e << YAML::EndMap;
    if (!config.targets.empty()) {
        e << YAML::Key << "targets" << YAML::Value << YAML::BeginSeq;
        for (const StaticTargetGroup& group : config.targets) {
            e << YAML::BeginMap << YAML::Key << "module" << YAML::Value << group.module;
            e << YAML::Key << "targets" << YAML::Value << YAML::BeginSeq;
            for (const std::string& target : group.targets) {
                e << target;
            }
            e << YAML::EndSeq;
            e << YAML::Key << "interval" << YAML::Value << format_go_duration(group.interval);
            if (!group.labels.empty()) {
                e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
                for (const auto& [name, value] : group.labels) {
                    e << YAML::Key << name << YAML::Value << value;
                }
                e << YAML::EndMap;
            }
            e << YAML::EndMap;
        }
        e << YAML::EndSeq;
    }
    if (const auto& k = config.discovery.kubernetes) {
        e << YAML::Key << "discovery" << YAML::Value << YAML::BeginMap;
        e << YAML::Key << "kubernetes" << YAML::Value << YAML::BeginMap;
        if (!k->kubeconfig.empty()) {
            e << YAML::Key << "kubeconfig" << YAML::Value << k->kubeconfig;
        }
        if (!k->namespaces.empty()) {
            e << YAML::Key << "namespaces" << YAML::Value << YAML::Flow << k->namespaces;
        }
        if (!k->label_selector.empty()) {
            e << YAML::Key << "label_selector" << YAML::Value << k->label_selector;
        }
        std::vector<std::string> roles;
        if (k->services) {
            roles.emplace_back("service");
        }
        if (k->ingresses) {
            roles.emplace_back("ingress");
        }
        e << YAML::Key << "roles" << YAML::Value << YAML::Flow << roles;
        e << YAML::Key << "probe_all" << YAML::Value << k->probe_all;
        e << YAML::Key << "interval" << YAML::Value << format_go_duration(k->interval);
        e << YAML::Key << "service_module" << YAML::Value << k->service_module;
        e << YAML::Key << "ingress_module" << YAML::Value << k->ingress_module;
        e << YAML::EndMap << YAML::EndMap;
    }
    if (config.probe_policy) {
        detail::emit_probe_policy(e, *config.probe_policy);
    }
    e << YAML::EndMap;
    return std::string(e.c_str()) + "\n";
}

}  // namespace sonde::config

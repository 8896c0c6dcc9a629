#pragma once

// One decoder per config block (internal to sonde_config). Each starts from the defaults already
// in `out`, reads the block strictly and then applies the exporter's checks for that block in
// upstream's order, throwing detail::DecodeError. A null or absent block keeps its defaults and
// is not validated, as yaml.v3 never calls UnmarshalYAML for a null node.

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/yaml_decode.hpp"

namespace sonde::config::detail {

void decode_tls_config(const YAML::Node& node, TlsConfig& out);
void decode_basic_auth(const YAML::Node& node, BasicAuth& out);
void decode_authorization(const YAML::Node& node, Authorization& out);
void decode_oauth2(const YAML::Node& node, OAuth2& out);
std::map<std::string, HttpHeaderValues> decode_header_values(const YAML::Node& node,
                                                             bool check_reserved);

// prometheus/common's HTTPClientConfig keys, inlined in `http:` and nested as websocket
// `http_config:`. The deprecated bearer_token(_file) are kept here until validation folds them
// into `authorization`.
struct HttpClientState {
    std::string bearer_token;
    std::string bearer_token_file;
};
bool decode_http_client_field(const std::string& key, const YAML::Node& value, HttpProbe& out,
                              HttpClientState& state);
void validate_http_client(HttpProbe& out, HttpClientState& state, const Fields& fields);

void decode_http(const YAML::Node& node, HttpProbe& out, DecodeContext& ctx);
std::vector<QueryResponse> decode_query_responses(const YAML::Node& node);
void decode_tcp(const YAML::Node& node, TcpProbe& out);
void decode_unix(const YAML::Node& node, UnixProbe& out);
void decode_websocket(const YAML::Node& node, WebsocketProbe& out);
void decode_dns(const YAML::Node& node, DnsProbe& out);
void decode_icmp(const YAML::Node& node, IcmpProbe& out);
void decode_grpc(const YAML::Node& node, GrpcProbe& out);
void decode_tls_probe(const YAML::Node& node, TlsProbe& out);  // sonde's `tls:` block
Module decode_module(const YAML::Node& node, DecodeContext& ctx);
void decode_discovery(const YAML::Node& node, Config& out, DecodeContext& ctx);

// sonde's own top-level sections.
void decode_targets(const YAML::Node& node, Config& out, DecodeContext& ctx);
void decode_probe_policy(const YAML::Node& node, Config& out, DecodeContext& ctx);
// The `probe_policy:` section of /config (config/render.cpp).
void emit_probe_policy(YAML::Emitter& e, const ProbePolicy& policy);

// The whole file: the top-level sections table.
void decode_config(const YAML::Node& root, Config& out, DecodeContext& ctx);

}  // namespace sonde::config::detail

#pragma once

// The immutable configuration: blackbox_exporter's `modules:` file, read strictly.
//
// A Config is built once by the loader (config/loader.hpp) and then shared read-only as
// std::shared_ptr<const Config>; a reload builds a new one and in-flight probes keep theirs.
// Every prober block is present in every Module (with its defaults), as in the exporter, so
// /config and debug output can show the whole module; only the block named by `prober` is used.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace re2 {
class RE2;
}

namespace sonde::config {

using Duration = std::chrono::nanoseconds;

// A secret is printed as <secret> everywhere (/config, debug output).
struct Secret {
    std::string value;
    bool empty() const { return value.empty(); }
};

// A compiled RE2 pattern with the text it came from (shown on /config, used in messages).
struct Regex {
    std::string pattern;
    std::shared_ptr<const re2::RE2> re;
};

enum class TlsVersion { Tls10, Tls11, Tls12, Tls13 };

// prometheus/common TLSConfig. Inline `ca`/`cert`/`key` and the *_file forms are exclusive.
struct TlsConfig {
    std::string ca;  // PEM text
    std::string ca_file;
    std::string cert;  // PEM text
    std::string cert_file;
    Secret key;  // PEM text
    std::string key_file;
    std::string server_name;
    bool insecure_skip_verify = false;
    std::optional<TlsVersion> min_version;
    std::optional<TlsVersion> max_version;
};

struct ExpectLabel {
    std::string name;
    std::string value;  // may hold ${1} / $name references into the matched expect
};

struct QueryResponse {
    std::optional<Regex> expect;
    std::optional<std::string> expect_bytes;
    std::vector<ExpectLabel> labels;
    std::optional<std::string> send;
    bool starttls = false;
};

struct HeaderMatch {
    std::string header;
    Regex regexp;
    bool allow_missing = false;
};

struct BasicAuth {
    std::string username;
    std::string username_file;
    Secret password;
    std::string password_file;
};

struct Authorization {
    std::string type = "Bearer";
    Secret credentials;
    std::string credentials_file;
};

struct OAuth2 {
    std::string client_id;
    Secret client_secret;
    std::string client_secret_file;
    std::vector<std::string> scopes;
    std::string token_url;
    std::map<std::string, std::string> endpoint_params;
    TlsConfig tls_config;
    std::string proxy_url;
};

// prometheus/common's http_headers entry: values are added, secrets hidden, files re-read.
struct HttpHeaderValues {
    std::vector<std::string> values;
    std::vector<Secret> secrets;
    std::vector<std::string> files;
};

struct HttpProbe {
    std::vector<int> valid_status_codes;           // empty: 2xx
    std::vector<std::string> valid_http_versions;  // empty: any
    std::string method = "GET";
    std::vector<std::pair<std::string, std::string>> headers;  // in file order, keys as written
    std::map<std::string, HttpHeaderValues> http_headers;
    std::string body;
    std::string body_file;
    std::int64_t body_size_limit = 0;  // bytes, 0 = no limit
    std::string compression;
    bool follow_redirects = true;
    bool fail_if_ssl = false;
    bool fail_if_not_ssl = false;
    std::vector<Regex> fail_if_body_matches_regexp;
    std::vector<Regex> fail_if_body_not_matches_regexp;
    std::string fail_if_body_json_matches_cel;
    std::string fail_if_body_json_not_matches_cel;
    std::vector<HeaderMatch> fail_if_header_matches;
    std::vector<HeaderMatch> fail_if_header_not_matches;
    TlsConfig tls_config;
    std::optional<BasicAuth> basic_auth;
    std::optional<Authorization> authorization;  // bearer_token(_file) are folded in here
    std::optional<OAuth2> oauth2;
    std::string proxy_url;
    std::string no_proxy;
    bool proxy_from_environment = false;
    std::map<std::string, std::vector<Secret>> proxy_connect_header;
    bool skip_resolve_phase_with_proxy = false;
    bool enable_http2 = true;
    // sonde extension: plain http:// targets speak HTTP/2 from the first byte (h2c with prior
    // knowledge, RFC 9113 §3.3), for servers that only speak cleartext HTTP/2 (gRPC gateways,
    // envoy h2c listeners). The exporter has no h2c. https:// is unchanged (ALPN).
    bool http2_prior_knowledge = false;
    bool enable_http3 = false;
    bool follow_redirects_set_by_deprecated_key = false;
    std::string preferred_ip_protocol = "ip6";
    bool ip_protocol_fallback = true;
};

struct TcpProbe {
    std::string preferred_ip_protocol = "ip6";
    bool ip_protocol_fallback = true;
    std::string source_ip_address;
    std::vector<QueryResponse> query_response;
    bool tls = false;
    TlsConfig tls_config;
};

struct UnixProbe {
    std::vector<QueryResponse> query_response;
    bool tls = false;
    TlsConfig tls_config;
};

struct DnsRrValidator {
    std::vector<std::string> fail_if_matches_regexp;  // compiled per probe, as the exporter
    std::vector<std::string> fail_if_all_match_regexp;
    std::vector<std::string> fail_if_not_matches_regexp;
    std::vector<std::string> fail_if_none_matches_regexp;
};

struct DnsProbe {
    std::string preferred_ip_protocol = "ip6";
    bool ip_protocol_fallback = true;
    std::string source_ip_address;
    std::string transport_protocol = "udp";
    bool dns_over_tls = false;
    TlsConfig tls_config;
    std::string query_name;
    std::string query_type = "ANY";
    std::string query_class = "IN";
    bool recursion_desired = true;
    std::vector<std::string> valid_rcodes = {"NOERROR"};
    DnsRrValidator validate_answer_rrs;
    DnsRrValidator validate_authority_rrs;
    DnsRrValidator validate_additional_rrs;
};

struct IcmpProbe {
    std::string preferred_ip_protocol = "ip6";
    bool ip_protocol_fallback = true;
    std::string source_ip_address;
    int payload_size = 0;
    bool dont_fragment = false;
    int ttl = 64;
};

struct GrpcProbe {
    std::string service;
    bool tls = false;
    TlsConfig tls_config;
    std::string preferred_ip_protocol = "ip6";
    bool ip_protocol_fallback = true;
    std::map<std::string, std::vector<std::string>> metadata;
};

struct WebsocketProbe {
    TlsConfig tls_config;  // from http_config
    std::optional<BasicAuth> basic_auth;
    std::optional<Authorization> authorization;
    std::map<std::string, HttpHeaderValues> headers;
    std::vector<QueryResponse> query_response;
    std::string preferred_ip_protocol = "ip6";
    bool ip_protocol_fallback = true;
};

// sonde extension, `prober: tls`: a handshake-only certificate check (modules/tls). The
// plaintext dialog that asks the server to switch to TLS first, when `starttls` is set.
enum class StartTls { None, Smtp, Imap, Pop3, Ftp, Postgres };

struct TlsProbe {
    std::string preferred_ip_protocol = "ip6";
    bool ip_protocol_fallback = true;
    std::string source_ip_address;
    TlsConfig tls_config;
    // Fail when a certificate of the verified chain (the leaf alone when nothing is verified)
    // expires within this long; 0 = no check.
    Duration fail_if_expires_within{0};
    StartTls starttls = StartTls::None;
};

enum class ProberKind { Http, Tcp, Dns, Icmp, Grpc, Unix, Websocket, Tls };

struct Module {
    ProberKind prober = ProberKind::Http;
    Duration timeout{0};  // 0: derive from the scrape timeout
    HttpProbe http;
    TcpProbe tcp;
    DnsProbe dns;
    IcmpProbe icmp;
    GrpcProbe grpc;
    UnixProbe unix_socket;  // YAML key `unix`
    WebsocketProbe websocket;
    TlsProbe tls;  // sonde extension
};

// sonde extension, top-level `targets:`: static targets probed on sonde's own schedule.
//
//   targets:
//     - module: http_2xx
//       targets: [https://example.org, http://10.0.0.1:8080/healthz]
//       interval: 30s          # default 30s
//       labels: {team: web}    # extra labels on every series of these targets
struct StaticTargetGroup {
    std::string module;
    std::vector<std::string> targets;
    Duration interval{std::chrono::seconds(30)};
    std::vector<std::pair<std::string, std::string>> labels;  // in file order
    int line = 0;  // 1-based line of the group in the file, for messages
};

// sonde extension, top-level `discovery: kubernetes:`: Services and Ingresses by list+watch.
//
//   discovery:
//     kubernetes:
//       kubeconfig: /path/to/kubeconfig   # absent: in-cluster service account
//       namespaces: [a, b]                # absent or empty: all namespaces
//       label_selector: "app=web"         # passed to the API as labelSelector
//       roles: [service, ingress]         # default both
//       probe_all: false                  # true: no prometheus.io/probe annotation needed
//       interval: 30s                     # default probe interval (sonde.io/interval overrides)
//       service_module: http_2xx          # default module for Services (sonde.io/module overrides)
//       ingress_module: http_2xx          # default module for Ingresses
struct KubernetesDiscoveryConfig {
    std::string kubeconfig;
    std::vector<std::string> namespaces;
    std::string label_selector;
    bool services = true;
    bool ingresses = true;
    bool probe_all = false;
    Duration interval{std::chrono::seconds(30)};
    std::string service_module = "http_2xx";
    std::string ingress_module = "http_2xx";

    friend bool operator==(const KubernetesDiscoveryConfig&,
                           const KubernetesDiscoveryConfig&) = default;
};

struct DiscoveryConfig {
    std::optional<KubernetesDiscoveryConfig> kubernetes;  // absent: no Kubernetes discovery
};

// sonde extension, top-level `probe_policy:`: where probes may connect (config/probe_policy.hpp
// holds the rules and their evaluation).
struct ProbePolicy;

struct Config {
    std::map<std::string, Module> modules;
    std::vector<StaticTargetGroup> targets;  // sonde extension
    DiscoveryConfig discovery;               // sonde extension
    std::string source;                      // file path, or "<built-in>"
    std::string sha256;  // of the file's bytes, to make an unchanged reload a no-op
    std::shared_ptr<const ProbePolicy> probe_policy;  // sonde extension; null: no policy
};

const char* prober_name(ProberKind kind);
// "smtp", "imap", ... ("" for None): the `starttls` value as written in the file.
const char* starttls_name(StartTls protocol);

}  // namespace sonde::config

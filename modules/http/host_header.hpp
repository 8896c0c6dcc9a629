#pragma once

// The request Host header and the TLS server name of an http probe, from the target URL, the
// module's `headers:` and the /probe `hostname` parameter (exporter: prober/http.go and
// setHTTPHost in prober/handler.go). Pure functions, no loop affinity.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "modules/http/http_url.hpp"
#include "prober/core/result.hpp"

namespace sonde::modules::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The module's `headers:` with the /probe `hostname` parameter applied, as setHTTPHost does:
// every configured header is kept and a "Host" entry set to hostname is added. A configured Host
// (any case) with a different value is an error whose message is the exporter's 400 body:
//   host header defined both in module configuration (<cfg>) and with URL-parameter
//   'hostname' (<param>)
// An empty hostname returns the headers unchanged.
Result<HeaderList> apply_hostname_param(const HeaderList& headers, std::string_view hostname);

// The value of the last `Host` entry (any case) of headers, or nullptr.
const std::string* configured_host(const HeaderList& headers);

struct HostNames {
    std::string host_header;  // what the request's Host header carries
    std::string server_name;  // TLS SNI and the name the certificate is verified against
};

// For the first request of a probe, headers being the result of apply_hostname_param:
// - Host header: the configured Host value, else the target's "host[:port]" as written;
// - server name: tls_config.server_name, else the configured Host value without its port,
//   else the target's host. (The exporter passes the Host value to Go's TLS config as is;
//   Go strips nothing, so "host:8443" would be sent as SNI and fail verification. sonde
//   drops the port, which is what a Host with a port can only have meant.)
HostNames choose_host_names(const config::TlsConfig& tls, const HeaderList& headers,
                            const HttpUrl& target);

// "example.com:8443" -> "example.com", "[::1]:443" -> "::1", "example.com" unchanged.
std::string strip_port(std::string_view host);

}  // namespace sonde::modules::http

#pragma once

// Which proxy, if any, one request of the http prober goes through, as the exporter's client
// decides it (prometheus/common ProxyConfig.Proxy()):
//  - proxy_url without no_proxy: Go's http.ProxyURL, every request through the proxy (loopback
//    targets included);
//  - proxy_url with no_proxy: Go's httpproxy.Config{HTTPProxy, HTTPSProxy: proxy_url, NoProxy}
//    .ProxyFunc();
//  - proxy_from_environment: httpproxy.FromEnvironment().ProxyFunc(), from HTTP_PROXY,
//    HTTPS_PROXY and NO_PROXY (the upper-case name wins over the lower-case one).
// The httpproxy rules never proxy a request to "localhost" or to a loopback IP literal, whatever
// NO_PROXY says; the exporter rewrites the target URL to the resolved IP before the request, so
// a target that resolves to 127.0.0.1 goes direct there too. NO_PROXY entries, comma-separated,
// case-insensitive: "*" (everything), an IP or "[v6]" with an optional ":port", a CIDR (any
// port), and a domain with an optional ":port" where "example.com" matches itself and its
// subdomains, ".example.com" and "*.example.com" only its subdomains. Go's CGI REQUEST_METHOD
// check (HTTP_PROXY ignored under CGI) is not mirrored: sonde is never a CGI program.
//
// Pure functions and values; the environment comes in through a lookup function so that
// tests never touch the process environment.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/url.hpp"

namespace sonde::modules::http {

// getenv: the value of a variable, nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The process environment (::getenv).
EnvLookup process_environment();

// Go's httpproxy NO_PROXY matcher.
class NoProxy {
public:
    NoProxy() = default;
    explicit NoProxy(std::string_view list);

    // True when a request to host (a hostname or IP literal, without brackets) and port (the
    // URL's, or the scheme's default) must not use the proxy, loopback rule included.
    bool bypasses(std::string_view host, std::string_view port) const;

private:
    struct IpRule {
        net::IpAddress ip;
        std::string port;  // "" = any
    };
    struct CidrRule {
        net::IpAddress network;
        int prefix = 0;
    };
    struct DomainRule {
        std::string suffix;  // always starts with '.'
        std::string port;
        bool match_host = false;  // written without a leading dot: the name itself matches too
    };
    bool all_ = false;
    std::vector<IpRule> ips_;
    std::vector<CidrRule> cidrs_;
    std::vector<DomainRule> domains_;
};

// Go's httpproxy parseProxy: a value without a scheme or host is read as "http://" + value.
// nullopt when empty or unparseable (Go then uses no proxy).
std::optional<net::Url> parse_proxy_value(std::string_view value);

class ProxySelector {
public:
    // No proxy at all.
    ProxySelector() = default;
    // From the module's proxy_url / no_proxy / proxy_from_environment. env is only called for
    // proxy_from_environment. A proxy_url that does not parse is an error.
    static Result<ProxySelector> from_config(const config::HttpProbe& cfg, const EnvLookup& env);
    // From the oauth2 block's proxy_url (always used).
    static Result<ProxySelector> from_url(const std::string& proxy_url);

    // The proxy for a request to scheme://host:port (host without brackets, port may be empty:
    // the scheme's default); nullopt: direct.
    std::optional<net::Url> proxy_for(std::string_view scheme, std::string_view host,
                                      std::string_view port) const;

    bool any() const { return always_ || http_ || https_; }

private:
    std::optional<net::Url> always_;  // http.ProxyURL: no rules
    std::optional<net::Url> http_;
    std::optional<net::Url> https_;
    NoProxy no_proxy_;
};

}  // namespace sonde::modules::http

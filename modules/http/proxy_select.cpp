#include "modules/http/proxy_select.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "config/redact.hpp"

namespace sonde::modules::http {
namespace {

std::string lower_trimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// An address as 4 bytes when it is IPv4 or IPv4-mapped IPv6 (Go's net.IP compares those
// equal), else its 16 bytes.
std::string canonical_bytes(const net::IpAddress& ip) {
    std::string bytes(ip.bytes());
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (bytes.size() == 16 && std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0) {
        return bytes.substr(12);
    }
    return bytes;
}

bool is_loopback(const net::IpAddress& ip) {
    const std::string bytes = canonical_bytes(ip);
    if (bytes.size() == 4) {
        return static_cast<unsigned char>(bytes[0]) == 127;
    }
    static constexpr unsigned char kV6Loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                      0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(bytes.data(), kV6Loopback, 16) == 0;
}

// Go's net.SplitHostPort, enough for NO_PROXY entries: "host:port" or "[v6]:port".
bool split_host_port(std::string_view text, std::string& host, std::string& port) {
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return false;
        }
        host = std::string(text.substr(1, close - 1));
        port = std::string(text.substr(close + 2));
        return true;
    }
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
        return false;
    }
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
    return true;
}

// Go's net.ParseCIDR: "addr/bits".
bool parse_cidr(std::string_view text, net::IpAddress& network, int& prefix) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return false;
    }
    auto ip = net::IpAddress::parse(text.substr(0, slash));
    if (!ip) {
        return false;
    }
    const std::string_view bits = text.substr(slash + 1);
    int value = -1;
    const auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
    const int max = ip->is_v4() ? 32 : 128;
    if (bits.empty() || ec != std::errc{} || ptr != bits.data() + bits.size() || value < 0 ||
        value > max) {
        return false;
    }
    network = *ip;
    prefix = value;
    return true;
}

bool in_network(const net::IpAddress& ip, const net::IpAddress& network, int prefix) {
    std::string a = canonical_bytes(ip);
    std::string n(network.bytes());
    if (network.is_v4()) {
        if (a.size() != 4) {
            return false;
        }
    } else if (a.size() == 4) {
        // An IPv4 address against an IPv6 network: compare in the mapped form.
        a = std::string(10, '\0') + std::string(2, '\xff') + a;
    }
    for (int bit = 0; bit < prefix; ++bit) {
        const unsigned mask = 0x80U >> (bit % 8);
        if ((static_cast<unsigned char>(a[bit / 8]) & mask) !=
            (static_cast<unsigned char>(n[bit / 8]) & mask)) {
            return false;
        }
    }
    return true;
}

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::optional<std::string> first_set(const EnvLookup& env, const char* upper, const char* lower) {
    auto value = env(upper);
    if (value && !value->empty()) {
        return value;
    }
    return env(lower);
}

}  // namespace

EnvLookup process_environment() {
    return [](const char* name) -> std::optional<std::string> {
        const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): loop thread
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
}

NoProxy::NoProxy(std::string_view list) {
    std::size_t begin = 0;
    while (begin <= list.size()) {
        auto end = list.find(',', begin);
        if (end == std::string_view::npos) {
            end = list.size();
        }
        const std::string entry = lower_trimmed(list.substr(begin, end - begin));
        begin = end + 1;
        if (entry.empty()) {
            continue;
        }
        if (entry == "*") {
            all_ = true;
            return;
        }
        CidrRule cidr;
        if (parse_cidr(entry, cidr.network, cidr.prefix)) {
            cidrs_.push_back(std::move(cidr));
            continue;
        }
        std::string host;
        std::string port;
        if (!split_host_port(entry, host, port)) {
            host = entry;
            port.clear();
        } else if (host.empty()) {
            continue;  // ":80": no host, Go ignores the entry
        }
        if (auto ip = net::IpAddress::parse(host)) {
            ips_.push_back({*ip, port});
            continue;
        }
        if (host.empty()) {
            continue;
        }
        if (host.rfind("*.", 0) == 0) {
            host.erase(0, 1);
        }
        DomainRule rule;
        rule.port = port;
        if (host.front() != '.') {
            rule.match_host = true;
            host.insert(0, ".");
        }
        rule.suffix = std::move(host);
        domains_.push_back(std::move(rule));
    }
}

bool NoProxy::bypasses(std::string_view host_in, std::string_view port) const {
    const std::string host = lower_trimmed(host_in);
    if (host == "localhost") {
        return true;
    }
    const auto ip = net::IpAddress::parse(host);
    if (ip && is_loopback(*ip)) {
        return true;
    }
    if (all_) {
        return true;
    }
    if (ip) {
        for (const IpRule& rule : ips_) {
            if (canonical_bytes(rule.ip) == canonical_bytes(*ip) &&
                (rule.port.empty() || rule.port == port)) {
                return true;
            }
        }
        for (const CidrRule& rule : cidrs_) {
            if (in_network(*ip, rule.network, rule.prefix)) {
                return true;
            }
        }
    }
    for (const DomainRule& rule : domains_) {
        if (ends_with(host, rule.suffix) ||
            (rule.match_host && host == std::string_view(rule.suffix).substr(1))) {
            if (rule.port.empty() || rule.port == port) {
                return true;
            }
        }
    }
    return false;
}

std::optional<net::Url> parse_proxy_value(std::string_view value) {
    if (value.empty()) {
        return std::nullopt;
    }
    auto url = net::parse_url(value);
    if (!url || url->scheme.empty() || url->host.empty()) {
        auto with_scheme = net::parse_url("http://" + std::string(value));
        if (with_scheme) {
            return std::move(*with_scheme);
        }
    }
    if (!url) {
        return std::nullopt;
    }
    return std::move(*url);
}

Result<ProxySelector> ProxySelector::from_config(const config::HttpProbe& cfg,
                                                 const EnvLookup& env) {
    ProxySelector selector;
    if (cfg.proxy_from_environment) {
        if (auto value = first_set(env, "HTTP_PROXY", "http_proxy")) {
            selector.http_ = parse_proxy_value(*value);
        }
        if (auto value = first_set(env, "HTTPS_PROXY", "https_proxy")) {
            selector.https_ = parse_proxy_value(*value);
        }
        if (auto value = first_set(env, "NO_PROXY", "no_proxy")) {
            selector.no_proxy_ = NoProxy(*value);
        }
        return selector;
    }
    if (cfg.proxy_url.empty()) {
        return selector;
    }
    auto proxy = net::parse_url(cfg.proxy_url);
    if (!proxy) {
        return unexpected(config::redact_url_in(proxy.error(), cfg.proxy_url));
    }
    if (proxy->hostname().empty()) {
        return unexpected("proxy URL has no host: " + config::redact_url(cfg.proxy_url));
    }
    if (cfg.no_proxy.empty()) {
        selector.always_ = std::move(*proxy);
        return selector;
    }
    selector.http_ = *proxy;
    selector.https_ = std::move(*proxy);
    selector.no_proxy_ = NoProxy(cfg.no_proxy);
    return selector;
}

Result<ProxySelector> ProxySelector::from_url(const std::string& proxy_url) {
    config::HttpProbe cfg;
    cfg.proxy_url = proxy_url;
    return from_config(cfg, [](const char*) { return std::nullopt; });
}

std::optional<net::Url> ProxySelector::proxy_for(std::string_view scheme, std::string_view host,
                                                 std::string_view port) const {
    if (always_) {
        return always_;
    }
    const std::optional<net::Url>* proxy = nullptr;
    if (scheme == "https") {
        proxy = &https_;
    } else if (scheme == "http") {
        proxy = &http_;
    }
    if (proxy == nullptr || !*proxy) {
        return std::nullopt;
    }
    std::string effective_port(port);
    if (effective_port.empty()) {
        effective_port = scheme == "https" ? "443" : "80";
    }
    if (no_proxy_.bypasses(host, effective_port)) {
        return std::nullopt;
    }
    return *proxy;
}

}  // namespace sonde::modules::http

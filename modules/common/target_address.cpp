#include "modules/common/target_address.hpp"

#include <charconv>
#include <utility>

#include <prometheus/gauge.h>
#include <uv.h>

namespace sonde::modules {
namespace {

// The exporter's names and HELP texts (prober/utils.go), exactly.
constexpr const char* kLookupTimeName = "probe_dns_lookup_time_seconds";
constexpr const char* kLookupTimeHelp = "Returns the time taken for probe dns lookup in seconds";
constexpr const char* kIpProtocolName = "probe_ip_protocol";
constexpr const char* kIpProtocolHelp = "Specifies whether probe ip protocol is IP4 or IP6";
constexpr const char* kIpAddrHashName = "probe_ip_addr_hash";
constexpr const char* kIpAddrHashHelp =
    "Specifies the hash of IP address. It's useful to detect if the IP address changes.";

prometheus::Gauge& add_gauge(prometheus::Registry& registry, const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

class TargetAddressRequest final : public net::ResolveRequest {
public:
    TargetAddressRequest(prometheus::Registry& registry, std::string host, int preferred_family,
                         bool fallback, TargetAddressCallback callback)
        // Registered in the exporter's order, before resolving, so they exist even on failure.
        : ip_protocol_(add_gauge(registry, kIpProtocolName, kIpProtocolHelp)),
          lookup_time_(add_gauge(registry, kLookupTimeName, kLookupTimeHelp)),
          ip_addr_hash_(add_gauge(registry, kIpAddrHashName, kIpAddrHashHelp)),
          host_(std::move(host)),
          preferred_family_(preferred_family),
          fallback_(fallback),
          callback_(std::move(callback)) {}

    void start(net::Resolver& resolver, std::uint64_t timeout_ms) {
        start_ns_ = uv_hrtime();
        // The Resolver never calls back inside resolve(), so lookup_ is set before any answer.
        lookup_ = resolver.resolve(
            host_, fallback_ ? AF_UNSPEC : preferred_family_, timeout_ms,
            [this](Result<std::vector<net::IpAddress>> result) { on_resolved(std::move(result)); });
    }

private:
    void on_resolved(Result<std::vector<net::IpAddress>> result) {
        lookup_time_.Set(static_cast<double>(uv_hrtime() - start_ns_) / 1e9);
        if (!result) {
            finish(unexpected(result.error()));
            return;
        }
        const auto& addresses = result.value();
        std::optional<net::IpAddress> chosen;
        if (fallback_) {
            chosen = choose_address(addresses, preferred_family_);
        } else if (!addresses.empty() && addresses.front().family() == preferred_family_) {
            chosen = addresses.front();
        }
        if (!chosen) {
            finish(unexpected("unable to find ip; no fallback"));
            return;
        }
        ip_protocol_.Set(chosen->is_v6() ? 6 : 4);
        ip_addr_hash_.Set(static_cast<double>(ip_address_hash(*chosen)));
        finish(*chosen);
    }

    void finish(Result<net::IpAddress> result) {
        auto callback = std::exchange(callback_, nullptr);
        // Last statement: the callback may destroy this request (and with it lookup_, whose
        // own callback is what is running; it touches nothing after calling us).
        callback(std::move(result));
    }

    prometheus::Gauge& ip_protocol_;
    prometheus::Gauge& lookup_time_;
    prometheus::Gauge& ip_addr_hash_;
    std::string host_;
    int preferred_family_;
    bool fallback_;
    TargetAddressCallback callback_;
    std::uint64_t start_ns_ = 0;
    std::unique_ptr<net::ResolveRequest> lookup_;
};

}  // namespace

std::unique_ptr<net::ResolveRequest> resolve_target(net::Resolver& resolver,
                                                    const std::string& host,
                                                    const std::string& preferred_ip_protocol,
                                                    bool fallback, std::uint64_t timeout_ms,
                                                    prometheus::Registry& registry,
                                                    TargetAddressCallback callback) {
    const int preferred_family =
        (preferred_ip_protocol == "ip6" || preferred_ip_protocol.empty()) ? AF_INET6 : AF_INET;
    auto request = std::make_unique<TargetAddressRequest>(registry, host, preferred_family,
                                                          fallback, std::move(callback));
    request->start(resolver, timeout_ms);
    return request;
}

std::optional<std::uint16_t> parse_target_port(const std::string& text) {
    unsigned value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

std::variant<DialTarget, DialTargetError> parse_dial_target(const std::string& target,
                                                            const std::string& source_ip_address) {
    constexpr const char* kSplitMessage = "Error splitting target address and port";
    auto host_port = net::split_host_port(target);
    if (!host_port) {
        return DialTargetError{false, kSplitMessage, "missing port in address " + target};
    }
    const auto port = parse_target_port(host_port->port);
    if (!port) {
        return DialTargetError{false, kSplitMessage, "invalid port " + host_port->port};
    }
    DialTarget out{host_port->host, *port, std::nullopt};
    if (!source_ip_address.empty()) {
        out.source = net::IpAddress::parse(source_ip_address);
        if (!out.source) {
            return DialTargetError{true, "Error parsing source ip address",
                                   "invalid source_ip_address " + source_ip_address};
        }
    }
    return out;
}

std::optional<net::IpAddress> choose_address(const std::vector<net::IpAddress>& addresses,
                                             int preferred_family) {
    std::optional<net::IpAddress> fallback;
    for (const auto& address : addresses) {
        if (address.family() == preferred_family) {
            return address;
        }
        fallback = address;  // the exporter's loop overwrites: the last one wins
    }
    return fallback;
}

std::uint32_t ip_address_hash(const net::IpAddress& address) {
    std::uint32_t hash = 2166136261U;
    for (const char byte : address.bytes()) {
        hash ^= static_cast<unsigned char>(byte);
        hash *= 16777619U;
    }
    return hash;
}

}  // namespace sonde::modules

#pragma once

// resolve_target: the exporter's chooseProtocol (prober/utils.go), made asynchronous.
//
// It registers probe_ip_protocol, probe_dns_lookup_time_seconds and probe_ip_addr_hash in the
// given registry at once (as the exporter does before resolving), resolves the host and picks
// one address:
// - the preferred family is IPv6 when preferred_ip_protocol is "ip6" or empty, else IPv4;
// - without fallback only that family is resolved and its first address is taken (no address,
//   or an IP literal of the other family, is an error);
// - with fallback all addresses are resolved; the first of the preferred family is taken, else
//   the last one of the other family.
// probe_dns_lookup_time_seconds is set also on failure; probe_ip_protocol (4 or 6) and
// probe_ip_addr_hash (FNV-1a 32-bit over the address bytes) only on success.
//
// Ownership: the caller owns the returned request; destroying it cancels the lookup and the
// callback never runs. The registry and the Resolver must outlive the request. The callback runs
// at most once, on the loop, never inside resolve_target(); it may destroy the request.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <prometheus/registry.h>

#include "prober/core/result.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/resolver.hpp"

namespace sonde::modules {

using TargetAddressCallback = std::function<void(Result<net::IpAddress>)>;

[[nodiscard]] std::unique_ptr<net::ResolveRequest> resolve_target(
    net::Resolver& resolver, const std::string& host, const std::string& preferred_ip_protocol,
    bool fallback, std::uint64_t timeout_ms, prometheus::Registry& registry,
    TargetAddressCallback callback);

// The port of a `host:port` target (Go's net.Dial accepts 0 to 65535, digits only); nullopt
// when it is not one.
std::optional<std::uint16_t> parse_target_port(const std::string& text);

// A `host:port` target and a source_ip_address as the tcp and tls probers read them (Go's
// net.SplitHostPort, a port of 0-65535, an IP literal for the source), or why not: the log
// message of the exporter's tcp prober, and the reason.
struct DialTarget {
    std::string host;
    std::uint16_t port = 0;
    std::optional<net::IpAddress> source;
};
struct DialTargetError {
    bool bad_source = false;  // source_ip_address (an internal error), else the target (resolve)
    const char* message = "";
    std::string reason;
};
std::variant<DialTarget, DialTargetError> parse_dial_target(const std::string& target,
                                                            const std::string& source_ip_address);

// The selection rule with fallback: the first address of preferred_family (AF_INET or
// AF_INET6), else the last address of the other family; nullopt when addresses is empty.
std::optional<net::IpAddress> choose_address(const std::vector<net::IpAddress>& addresses,
                                             int preferred_family);

// FNV-1a, 32 bits, over the address bytes (4 for IPv4, 16 for IPv6): probe_ip_addr_hash.
std::uint32_t ip_address_hash(const net::IpAddress& address);

}  // namespace sonde::modules

#pragma once

// ProbePolicy: sonde's optional `probe_policy:` section, the rules on where probes may connect.
//
// An open /probe lets anyone who reaches sonde make it connect anywhere sonde can reach (the
// cloud metadata address, the admin port of a neighbour); discovered targets come from whoever
// may create a Service. The policy is checked on every connection a probe makes, after the name
// is resolved, so a name cannot point around it (modules/common/dial_guard.hpp does that).
//
//   probe_policy:
//     deny_cidrs: [169.254.0.0/16, 127.0.0.0/8]   # a match denies
//     allow_cidrs: [10.0.0.0/8]                    # if given, every address dialled is in one
//     deny_hosts: ["*.internal"]                   # a match denies
//     allow_hosts: ["*.example.org", example.net]  # if given, every name dialled matches one
//     scheduled: true                              # also scheduled targets (default true)
//
// Rules, in order: a name matching deny_hosts is denied; a name not matching allow_hosts (when
// given) is denied; an IP literal is not a name, so with allow_hosts it needs allow_cidrs (or an
// allow_hosts entry written as that literal). After resolution, an address in deny_cidrs is
// denied and, when allow_cidrs is given, an address in none of them is denied. IPv4-mapped IPv6
// addresses are also matched as IPv4, and the unspecified addresses (0.0.0.0, ::), which
// connect to this host, also as loopback.
//
// Host patterns: "example.org" (that name), "*.example.org" (any name below it, not the name
// itself), "*" (any name). Case-insensitive; a trailing dot is ignored.
//
// Pure data and functions: no libuv, used by the loader and by the dial guard.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/result.hpp"

namespace sonde::config {

struct Cidr {
    std::string text;  // as written, for messages and /config
    bool v6 = false;
    std::array<unsigned char, 16> bytes{};  // network address, host bits cleared
    int prefix = 0;

    // address: 4 raw bytes (IPv4) or 16 (IPv6); a family mismatch never matches.
    bool contains(std::string_view address) const;
};

// "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). Host bits are cleared, as Go's
// net.ParseCIDR does.
[[nodiscard]] Result<Cidr> parse_cidr(std::string_view text);

struct HostPattern {
    std::string text;  // lower-cased, without a trailing dot

    bool matches(std::string_view normalised_host) const;
};

[[nodiscard]] Result<HostPattern> parse_host_pattern(std::string_view text);

// Lower-cased, one trailing dot removed: the form host patterns are matched against.
std::string normalise_host(std::string_view host);

enum class DenyReason { DeniedHost, HostNotAllowed, DeniedCidr, CidrNotAllowed };

// The `reason` label of sonde_probe_denied_total: "denied_host", "host_not_allowed",
// "denied_cidr", "cidr_not_allowed".
const char* deny_reason_label(DenyReason reason);

struct PolicyDenial {
    DenyReason reason;
    std::string message;  // "address 127.0.0.1 of \"localhost\" is in deny_cidrs 127.0.0.0/8"
};

struct ProbePolicy {
    std::vector<Cidr> allow_cidrs;
    std::vector<Cidr> deny_cidrs;
    std::vector<HostPattern> allow_hosts;
    std::vector<HostPattern> deny_hosts;
    bool scheduled = true;  // also applies to scheduled (config file and discovered) targets

    // The name rules, before resolving: host is what is about to be looked up (a name or an IP
    // literal, without brackets). nullopt: allowed so far.
    std::optional<PolicyDenial> check_host(std::string_view host) const;
    // The address rules, for one address host resolved to (4 or 16 raw bytes).
    std::optional<PolicyDenial> check_address(std::string_view host,
                                              std::string_view address) const;
};

}  // namespace sonde::config

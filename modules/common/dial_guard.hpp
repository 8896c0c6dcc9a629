#pragma once

// DialGuard: the probe policy (config/probe_policy.hpp) enforced where every prober gets the
// addresses it connects to.
//
// Every connection a probe makes starts with a lookup through ctx.resolver: the target of the
// tcp, icmp and http probers and the server of the dns prober (resolve_target), each redirect
// hop and proxy of the http prober, its OAuth2 token endpoint; IP literals too (the Resolver
// answers them itself). A DialGuard is a Resolver that stands in front of the real one for one
// probe run: it refuses a name the host rules deny without looking it up, and after the lookup
// it drops every address the address rules deny, so the prober can only pick an allowed one.
// When nothing is left, the lookup fails with "denied by probe_policy: <why>" and the probe
// fails with that reason. The one connection that is not preceded by a lookup (the target of an
// http module with skip_resolve_phase_with_proxy, which the proxy resolves) is checked with
// check_unresolved().
//
// The guard remembers the first denial and whether it came before any lookup was allowed: the
// /probe endpoint answers such a probe with 403 and the reason, since it never reached anything.
//
// Ownership: owned by the probe run, next to the ProbeContext, and outlives the session (and so
// every request made through it). The inner Resolver outlives the guard. Loop thread only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/probe_policy.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/probe_log.hpp"
#include "prober/net/resolver.hpp"

namespace sonde::modules {

struct DialDenial {
    config::DenyReason reason;
    std::string message;  // "denied by probe_policy: address 127.0.0.1 is in deny_cidrs ..."
    bool before_any_dial = false;  // no lookup of this probe had been allowed before it
};

class DialGuard final : public net::Resolver {
public:
    DialGuard(Loop& loop, net::Resolver& inner, std::shared_ptr<const config::ProbePolicy> policy,
              ProbeLog& log);

    // net::Resolver
    std::unique_ptr<net::ResolveRequest> resolve(const std::string& host, int family,
                                                 std::uint64_t timeout_ms,
                                                 Callback callback) override;

    // For a host sonde will not resolve itself (a proxy will): the host rules, and the address
    // rules when host is an IP literal. Returns the denial message, recorded as by resolve().
    std::optional<std::string> check_unresolved(const std::string& host);

    // The first denial of this probe, if any.
    const std::optional<DialDenial>& denial() const { return denial_; }

private:
    void record(const config::PolicyDenial& denial, bool first);
    // The callback's answer after the address rules: the allowed addresses, or the denial.
    Result<std::vector<net::IpAddress>> filter(const std::string& host, bool first,
                                               std::vector<net::IpAddress> addresses);

    Loop& loop_;
    net::Resolver& inner_;
    std::shared_ptr<const config::ProbePolicy> policy_;
    ProbeLog& log_;
    std::uint64_t lookups_ = 0;
    std::uint64_t allowed_ = 0;
    std::optional<DialDenial> denial_;
};

}  // namespace sonde::modules

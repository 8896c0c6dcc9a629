#pragma once

// Resolver: host names -> addresses with c-ares, driven by the Loop.
//
// One c-ares channel per Resolver; one poll handle per c-ares socket (from the sock_state
// callback) and one timer re-armed from ares_timeout() after each ares_process_fd(). Literal
// addresses and names in /etc/hosts (through c-ares' own hosts lookup) resolve without a
// network round trip; the answer still arrives asynchronously (never inside resolve()).
//
// Ownership: the Resolver outlives every ResolveRequest it returned. Destroying a
// ResolveRequest cancels it: its callback is never called afterwards. Destroying the Resolver
// cancels all outstanding requests the same way. Loop affinity: the Loop's thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/net/ip_address.hpp"

namespace sonde::net {

class ResolveRequest {
public:
    virtual ~ResolveRequest() = default;
};

struct ResolverOptions {
    // Servers as "ip" or "ip:port"; empty means /etc/resolv.conf. Tests point this at a
    // responder on loopback.
    std::vector<std::string> servers;
    bool use_hosts_file = true;
};

class Resolver {
public:
    // family: AF_UNSPEC (all addresses, in the order the resolver gives them), AF_INET or
    // AF_INET6. The callback gets a non-empty address list or an error naming the host and the
    // reason (c-ares' ares_strerror text, e.g. "lookup nosuch.invalid: Domain name not found").
    using Callback = std::function<void(Result<std::vector<IpAddress>>)>;

    static Result<std::unique_ptr<Resolver>> create(Loop& loop, ResolverOptions options = {});
    virtual ~Resolver() = default;

    // timeout_ms bounds the whole lookup (c-ares TIMEOUTMS/TRIES are set from it).
    [[nodiscard]] virtual std::unique_ptr<ResolveRequest> resolve(const std::string& host,
                                                                  int family,
                                                                  std::uint64_t timeout_ms,
                                                                  Callback callback) = 0;
};

}  // namespace sonde::net

#pragma once

// Resolver: host names -> addresses with c-ares, driven by the Loop.
//
// One c-ares channel per Resolver; one poll handle per c-ares socket (from the sock_state
// callback) and one timer re-armed from ares_timeout() after each ares_process_fd(). Literal
// addresses (parsed by the Resolver itself, because c-ares 1.18 sends some of them to the DNS
// servers as names) and names in /etc/hosts (through c-ares' own hosts lookup) resolve without
// a network round trip; the answer still arrives asynchronously (never inside resolve()).
//
// Ownership: the caller owns each ResolveRequest. Destroying a ResolveRequest cancels it: its
// callback is never called afterwards. Destroying the Resolver cancels all outstanding requests
// the same way; a request that outlives its Resolver is inert and still safe to destroy. The
// callback runs on the loop, at most once, never inside resolve() nor inside c-ares (answers
// are delivered from posted tasks and from the request's timer), so it may destroy its own
// request or even the Resolver. Loop affinity: the Loop's thread only.

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
    // c-ares' own retry schedule (channel-wide in c-ares 1.18, so not per request): the first
    // attempt waits attempt_timeout_ms, and c-ares doubles the wait after each round over the
    // servers. The per-request timeout_ms of resolve() is the hard bound on top of this.
    std::uint32_t attempt_timeout_ms = 1000;
    int tries = 3;
};

class Resolver {
public:
    // family: AF_UNSPEC (all addresses, in the order the resolver gives them), AF_INET or
    // AF_INET6. The callback gets a non-empty address list or an error naming the host and the
    // reason (c-ares' ares_strerror text, e.g. "lookup nosuch.invalid: Domain name not found").
    using Callback = std::function<void(Result<std::vector<IpAddress>>)>;

    static Result<std::unique_ptr<Resolver>> create(Loop& loop, ResolverOptions options = {});
    virtual ~Resolver() = default;

    // timeout_ms bounds the whole lookup with a timer of the request: when it expires first, the
    // callback gets "lookup <host>: i/o timeout" and c-ares' late answer is dropped. 0 means no
    // bound beyond c-ares' own tries (ResolverOptions). An IP literal of the other family than
    // the one asked for fails with "lookup <host>: no suitable address found" (as Go's resolver).
    [[nodiscard]] virtual std::unique_ptr<ResolveRequest> resolve(const std::string& host,
                                                                  int family,
                                                                  std::uint64_t timeout_ms,
                                                                  Callback callback) = 0;
};

}  // namespace sonde::net

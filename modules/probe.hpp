#pragma once

// The one module interface: the exporter's prober signature, made asynchronous.
//
//   std::unique_ptr<ProbeSession> start_<kind>_probe(ProbeContext& ctx, ProbeDone done);
//
// Contract, which every module keeps and tests prove:
//  1. `done` runs exactly once, on the loop, never synchronously inside start_*: an immediate
//     failure goes through loop.post().
//  2. Calling `done` is the last thing a session does; it touches no member afterwards.
//  3. Destroying the session cancels it in any state; the destructor never calls `done`.
//  4. The runner owns the deadline: modules never time the whole probe out themselves, they
//     only size inner limits from ctx.remaining_ms(). The runner never destroys a session
//     inside the session's own callback (it uses loop.defer_delete()).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/probe_log.hpp"

namespace prometheus {
class Registry;
}

namespace sonde::net {
class Resolver;
class TlsClientContext;
}  // namespace sonde::net

namespace sonde::modules::icmp {
class IcmpSocketPool;
}

namespace sonde::modules {

class DialGuard;

// Denied: the probe_policy refused every address the target resolved to (modules/common/
// dial_guard.hpp); the module itself sees a failed lookup.
enum class FailureKind {
    None,
    Resolve,
    Connect,
    Tls,
    Timeout,
    Protocol,
    Validation,
    Internal,
    Denied
};

const char* failure_kind_name(FailureKind kind);  // "resolve", "connect", ... ("" for None)

struct ProbeOutcome {
    bool success = false;
    FailureKind kind = FailureKind::None;
    std::string detail;

    static ProbeOutcome ok() { return {true, FailureKind::None, {}}; }
    static ProbeOutcome fail(FailureKind kind, std::string detail) {
        return {false, kind, std::move(detail)};
    }
};

using ProbeDone = std::function<void(ProbeOutcome)>;

// Everything a module may use. Owned by the runner and outlives the session.
struct ProbeContext {
    Loop& loop;
    net::Resolver& resolver;
    const config::Module& module;
    std::string target;
    std::string hostname;       // the /probe `hostname` parameter, empty when absent
    std::uint64_t deadline_ns;  // uv_hrtime() by which the runner gives up
    prometheus::Registry& registry;
    ProbeLog& log;
    // The module's TLS client context, built at config load; null when the module has none.
    std::shared_ptr<const net::TlsClientContext> tls;
    // The loop's shared ICMP sockets, owned by whoever runs probes; null when it keeps none
    // (the icmp prober then opens a socket per probe).
    icmp::IcmpSocketPool* icmp_pool = nullptr;
    // The probe policy in force (then `resolver` is this guard), null when none applies. For
    // the rare connection not preceded by a lookup (modules/common/dial_guard.hpp).
    DialGuard* dial_guard = nullptr;

    // Milliseconds left until the deadline (0 when passed).
    std::uint64_t remaining_ms() const;
};

class ProbeSession {
public:
    virtual ~ProbeSession() = default;
};

using StartProbe = std::unique_ptr<ProbeSession> (*)(ProbeContext& ctx, ProbeDone done);

// The explicit name -> prober table (modules/registry.cpp): every kind has a module (the
// switch there has no default, so a new kind without one does not compile).
StartProbe find_prober(config::ProberKind kind);

}  // namespace sonde::modules

#pragma once

// StreamSession: the part every stream prober (tcp, websocket) shares: the connection (a
// TcpStream, and the TlsChannel over it once TLS is spoken) and the module contract's
// completion: done runs exactly once, never inside start_*, and is the last thing done.
//
// Ownership: a prober's session derives from it and owns everything through it; destroying the
// session closes the connection and never calls done. Loop affinity: the probe's loop.

#include <memory>
#include <string>

#include "modules/probe.hpp"
#include "prober/core/loop.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"

namespace sonde::modules {

class StreamSession : public ProbeSession {
protected:
    StreamSession(ProbeContext& ctx, ProbeDone done) : ctx_(ctx), done_(std::move(done)) {}

    // For failures found inside start(): logs `message` (unless empty) with err=reason now,
    // and reports on a later iteration, so that done never runs inside start_*().
    void fail_later(FailureKind kind, const char* message, std::string reason);

    // Closes the connection and calls done with outcome, once; later calls do nothing. The
    // caller must not touch the session after it: the runner may delete it from done.
    void finish(ProbeOutcome outcome);

    ProbeContext& ctx_;
    std::unique_ptr<net::TcpStream> stream_;
    std::unique_ptr<net::TlsChannel> channel_;  // declared after stream_: destroyed first
    bool finished_ = false;
    Alive alive_;  // for work the session posts to the loop

private:
    ProbeDone done_;
};

}  // namespace sonde::modules

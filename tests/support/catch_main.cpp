// The one translation unit that holds Catch2's main().
#define CATCH_CONFIG_MAIN
#include <csignal>

#include <catch2/catch.hpp>

namespace {

// As the sonde binary does (prober/app/cli.cpp): a write to a peer that has gone (a server in
// the test answering a client the test just destroyed) must fail with EPIPE, not kill the
// whole test process with SIGPIPE.
const bool kSigpipeIgnored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

}  // namespace

#pragma once

// IcmpProbeHarness: ProbeHarness for the icmp prober, with the loop's IcmpSocketPool in the
// probe environment (as the exporter and the scheduler hold one), so that tests can see the
// shared sockets. Also the environment checks the ICMP tests share.

#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "modules/icmp/icmp_socket_pool.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/net/resolver.hpp"
#include "tests/support/loop_fixture.hpp"

namespace sonde::test {

class IcmpProbeHarness {
public:
    IcmpProbeHarness();
    ~IcmpProbeHarness();

    Loop& loop() { return fx_.loop(); }
    LoopFixture& fixture() { return fx_; }
    modules::icmp::IcmpSocketPool& pool() { return *pool_; }

    // Loads a whole config text ("modules:" ...); REQUIREs it to be valid.
    void load(const std::string& config_yaml);

    // Runs module against target to completion; REQUIREs that the report arrived in time.
    app::ProbeReport run(const std::string& module, const std::string& target,
                         double timeout_seconds = 5);

    // Starts a probe without waiting; the report goes to *out.
    std::unique_ptr<app::ProbeRun> start(const std::string& module, const std::string& target,
                                         double timeout_seconds,
                                         std::optional<app::ProbeReport>* out);

    // Destroys the pool and the resolver and closes the loop; returns uv_loop_close()'s result.
    int close();

private:
    LoopFixture fx_;
    std::unique_ptr<net::Resolver> resolver_;
    std::unique_ptr<modules::icmp::IcmpSocketPool> pool_;
    std::shared_ptr<const config::Config> config_;
};

// Whether this process may open an ICMP socket of family (datagram or raw). When it may not,
// a test skips with a message, except under CI (the CI environment variable set), where it
// fails: CI runs as root and must exercise the real sockets.
bool icmp_sockets_permitted(int family);
// Call at the top of a test: returns false (after WARN or FAIL) when ICMP is not permitted.
bool require_icmp(int family);

}  // namespace sonde::test

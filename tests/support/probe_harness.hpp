#pragma once

// ProbeHarness: runs real probes (ProbeRun, real resolver, real sockets) on a LoopFixture's
// loop, with the module taken from YAML text, so integration tests read like a /probe call.

#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/net/resolver.hpp"
#include "tests/support/loop_fixture.hpp"

namespace sonde::test {

class ProbeHarness {
public:
    ProbeHarness();
    ~ProbeHarness();

    Loop& loop() { return fx_.loop(); }
    LoopFixture& fixture() { return fx_; }

    // Replaces the resolver by one built with these options (tests pointing it at a
    // FakeDnsServer on this loop).
    void use_resolver(net::ResolverOptions options);

    // Loads `modules:` YAML (the text after "modules:\n"); REQUIREs it to be valid.
    void load(const std::string& config_yaml);

    // Runs module against target to completion; REQUIREs that the report arrived before the
    // watchdog.
    app::ProbeReport run(const std::string& module, const std::string& target,
                         double timeout_seconds = 5, const std::string& hostname = {});

    // Starts a probe and returns it without waiting; the report goes to *out.
    std::unique_ptr<app::ProbeRun> start(const std::string& module, const std::string& target,
                                         double timeout_seconds,
                                         std::optional<app::ProbeReport>* out);

    // Destroys the resolver and closes the loop; returns uv_loop_close()'s result.
    int close();

private:
    LoopFixture fx_;
    std::unique_ptr<net::Resolver> resolver_;
    std::shared_ptr<const config::Config> config_;
};

}  // namespace sonde::test

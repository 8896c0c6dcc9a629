#include "tests/support/probe_harness.hpp"

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "prober/app/module_runtime.hpp"

namespace sonde::test {

ProbeHarness::ProbeHarness() {
    auto resolver = net::Resolver::create(fx_.loop());
    REQUIRE(resolver.has_value());
    resolver_ = std::move(resolver.value());
}

ProbeHarness::~ProbeHarness() {
    resolver_.reset();
}

void ProbeHarness::use_resolver(net::ResolverOptions options) {
    auto resolver = net::Resolver::create(fx_.loop(), std::move(options));
    REQUIRE(resolver.has_value());
    resolver_ = std::move(resolver.value());
}

void ProbeHarness::load(const std::string& config_yaml) {
    auto loaded = config::load_config_text(config_yaml, "test.yml");
    if (!loaded) {
        FAIL(loaded.error());
    }
    config_ = loaded->config;
}

std::unique_ptr<app::ProbeRun> ProbeHarness::start(const std::string& module,
                                                   const std::string& target,
                                                   double timeout_seconds,
                                                   std::optional<app::ProbeReport>* out) {
    REQUIRE(config_ != nullptr);
    REQUIRE(config_->modules.count(module) == 1);
    app::ProbeRequest request;
    request.config = config_;
    request.module_name = module;
    request.target = target;
    request.timeout_seconds = timeout_seconds;
    auto tls = app::build_tls_context(config_->modules.at(module));
    if (!tls) {
        FAIL(tls.error());
    }
    request.tls = *tls;
    return app::ProbeRun::start(app::ProbeEnvironment{fx_.loop(), *resolver_}, std::move(request),
                                [out](app::ProbeReport report) { *out = std::move(report); });
}

app::ProbeReport ProbeHarness::run(const std::string& module, const std::string& target,
                                   double timeout_seconds, const std::string& hostname) {
    std::optional<app::ProbeReport> report;
    REQUIRE(config_ != nullptr);
    app::ProbeRequest request;
    request.config = config_;
    request.module_name = module;
    request.target = target;
    request.hostname = hostname;
    request.timeout_seconds = timeout_seconds;
    auto tls = app::build_tls_context(config_->modules.at(module));
    if (!tls) {
        FAIL(tls.error());
    }
    request.tls = *tls;
    auto run =
        app::ProbeRun::start(app::ProbeEnvironment{fx_.loop(), *resolver_}, std::move(request),
                             [&report](app::ProbeReport r) { report = std::move(r); });
    REQUIRE(fx_.run_until([&] { return report.has_value(); }));
    run.reset();
    return std::move(*report);
}

int ProbeHarness::close() {
    resolver_.reset();
    return fx_.close();
}

}  // namespace sonde::test

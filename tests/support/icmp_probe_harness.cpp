#include "tests/support/icmp_probe_harness.hpp"

#include <cerrno>
#include <cstdlib>

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/loader.hpp"

namespace sonde::test {

IcmpProbeHarness::IcmpProbeHarness() {
    auto resolver = net::Resolver::create(fx_.loop());
    REQUIRE(resolver.has_value());
    resolver_ = std::move(resolver.value());
    pool_ = std::make_unique<modules::icmp::IcmpSocketPool>(fx_.loop());
}

IcmpProbeHarness::~IcmpProbeHarness() {
    pool_.reset();
    resolver_.reset();
}

void IcmpProbeHarness::load(const std::string& config_yaml) {
    auto loaded = config::load_config_text(config_yaml, "test.yml");
    if (!loaded) {
        FAIL(loaded.error());
    }
    config_ = loaded->config;
}

std::unique_ptr<app::ProbeRun> IcmpProbeHarness::start(const std::string& module,
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
    app::ProbeEnvironment env{fx_.loop(), *resolver_};
    env.icmp_pool = pool_.get();
    return app::ProbeRun::start(env, std::move(request),
                                [out](app::ProbeReport report) { *out = std::move(report); });
}

app::ProbeReport IcmpProbeHarness::run(const std::string& module, const std::string& target,
                                       double timeout_seconds) {
    std::optional<app::ProbeReport> report;
    auto run = start(module, target, timeout_seconds, &report);
    REQUIRE(fx_.run_until([&] { return report.has_value(); }));
    run.reset();
    return std::move(*report);
}

int IcmpProbeHarness::close() {
    pool_.reset();
    resolver_.reset();
    return fx_.close();
}

bool icmp_sockets_permitted(int family) {
    const int protocol =
        family == AF_INET6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
    for (const int type : {SOCK_DGRAM, SOCK_RAW}) {
        const int fd = ::socket(family, type | SOCK_CLOEXEC, protocol);
        if (fd >= 0) {
            ::close(fd);
            return true;
        }
    }
    return false;
}

bool require_icmp(int family) {
    if (icmp_sockets_permitted(family)) {
        return true;
    }
    if (std::getenv("CI") != nullptr) {
        FAIL("ICMP sockets are not permitted, and CI is set: run the tests as root");
    }
    WARN(
        "skipped: ICMP sockets are not permitted (run as root, grant CAP_NET_RAW, or allow the "
        "group in net.ipv4.ping_group_range)");
    return false;
}

}  // namespace sonde::test

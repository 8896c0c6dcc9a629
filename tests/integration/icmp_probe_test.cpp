// The icmp prober against the kernel's own echo replies on loopback, with raw sockets on the
// host (net.ipv4.ping_group_range is "1 0" there) and datagram sockets inside a network
// namespace each test creates. Nothing outside loopback is pinged.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include "modules/icmp/icmp_socket_pool.hpp"
#include "tests/support/icmp_probe_harness.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/subprocess.hpp"

namespace sonde {
namespace {

using modules::FailureKind;
using modules::icmp::IcmpSocketKind;
using modules::icmp::IcmpSocketOptions;
using test::metric_value;

constexpr const char* kIcmpModules = R"yaml(modules:
  icmp_v4:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
  icmp_v6:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
  icmp_ttl5:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
      ttl: 5
  icmp_ttl_default:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
      ttl: 0
  icmp_df_big:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
      dont_fragment: true
      payload_size: 1200
  icmp_bad_source:
    prober: icmp
    icmp:
      source_ip_address: not-an-ip
  icmp_from_127_0_0_2:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
      source_ip_address: 127.0.0.2
)yaml";

void check_phases_present(const prometheus::Registry& registry) {
    for (const char* phase : {"resolve", "setup", "rtt"}) {
        CAPTURE(phase);
        CHECK(metric_value(registry, "probe_icmp_duration_seconds", {{"phase", phase}}));
    }
}

TEST_CASE("icmp ping of 127.0.0.1 succeeds on a raw socket", "[integration][icmp]") {
    if (!test::require_icmp(AF_INET)) {
        return;
    }
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    const auto report = h.run("icmp_v4", "127.0.0.1");
    INFO(report.log);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_success") == 1);
    CHECK(metric_value(*report.registry, "probe_ip_protocol") == 4);
    check_phases_present(*report.registry);
    CHECK(metric_value(*report.registry, "probe_icmp_duration_seconds", {{"phase", "rtt"}}) > 0);
    CHECK(metric_value(*report.registry, "probe_icmp_duration_seconds", {{"phase", "rtt"}}) < 1);
    const auto hop_limit = metric_value(*report.registry, "probe_icmp_reply_hop_limit");
    REQUIRE(hop_limit);
    CHECK(*hop_limit > 0);
    CHECK(*hop_limit <= 255);
    // The socket closes once nothing waits on it.
    CHECK(h.fixture().run_until([&] { return h.pool().socket_count() == 0; }));
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp ping of ::1 succeeds", "[integration][icmp]") {
    if (!test::require_icmp(AF_INET6)) {
        return;
    }
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    const auto report = h.run("icmp_v6", "::1");
    INFO(report.log);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_ip_protocol") == 6);
    check_phases_present(*report.registry);
    CHECK(metric_value(*report.registry, "probe_icmp_duration_seconds", {{"phase", "rtt"}}) > 0);
    const auto hop_limit = metric_value(*report.registry, "probe_icmp_reply_hop_limit");
    REQUIRE(hop_limit);
    CHECK(*hop_limit > 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp ttl and default ttl and dont_fragment and source address all get a reply",
          "[integration][icmp]") {
    if (!test::require_icmp(AF_INET)) {
        return;
    }
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    for (const char* module :
         {"icmp_ttl5", "icmp_ttl_default", "icmp_df_big", "icmp_from_127_0_0_2"}) {
        CAPTURE(module);
        const auto report = h.run(module, "127.0.0.1");
        INFO(report.log);
        CHECK(report.success);
        check_phases_present(*report.registry);
        CHECK(metric_value(*report.registry, "probe_icmp_reply_hop_limit"));
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp: a bad source address fails with all phases exported", "[integration][icmp]") {
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    const auto report = h.run("icmp_bad_source", "127.0.0.1");
    CHECK_FALSE(report.success);
    CHECK(report.failure == FailureKind::Internal);
    CHECK(report.log.text().find("Error parsing source ip address") != std::string::npos);
    check_phases_present(*report.registry);
    CHECK_FALSE(metric_value(*report.registry, "probe_icmp_reply_hop_limit"));
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp: an unresolvable target is a resolve failure", "[integration][icmp]") {
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    // An IPv4 literal where only IPv6 is allowed fails without any lookup on the network.
    const auto report = h.run("icmp_v6", "127.0.0.1");
    CHECK_FALSE(report.success);
    CHECK(report.failure == FailureKind::Resolve);
    check_phases_present(*report.registry);
    CHECK(h.pool().socket_count() == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp: 1000 concurrent pings share one socket and all match", "[integration][icmp]") {
    if (!test::require_icmp(AF_INET)) {
        return;
    }
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    constexpr int kProbes = 1000;
    std::vector<std::optional<app::ProbeReport>> reports(kProbes);
    std::vector<std::unique_ptr<app::ProbeRun>> runs;
    for (int i = 0; i < kProbes; ++i) {
        runs.push_back(h.start("icmp_v4", "127.0.0.1", 5, &reports[static_cast<std::size_t>(i)]));
    }
    std::size_t most_sockets = 0;
    REQUIRE(h.fixture().run_until([&] {
        most_sockets = std::max(most_sockets, h.pool().socket_count());
        return std::all_of(reports.begin(), reports.end(),
                           [](const auto& report) { return report.has_value(); });
    }));
    CHECK(most_sockets == 1);
    int succeeded = 0;
    for (const auto& report : reports) {
        succeeded += report->success ? 1 : 0;
        CHECK(metric_value(*report->registry, "probe_icmp_reply_hop_limit"));
    }
    CHECK(succeeded == kProbes);
    runs.clear();
    CHECK(h.fixture().run_until([&] { return h.pool().socket_count() == 0; }));
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp: different settings get different sockets", "[integration][icmp]") {
    if (!test::require_icmp(AF_INET) || !test::require_icmp(AF_INET6)) {
        return;
    }
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    std::vector<std::optional<app::ProbeReport>> reports(4);
    std::vector<std::unique_ptr<app::ProbeRun>> runs;
    runs.push_back(h.start("icmp_v4", "127.0.0.1", 5, &reports[0]));
    runs.push_back(h.start("icmp_v4", "127.0.0.1", 5, &reports[1]));
    runs.push_back(h.start("icmp_ttl5", "127.0.0.1", 5, &reports[2]));
    runs.push_back(h.start("icmp_v6", "::1", 5, &reports[3]));
    std::size_t most_sockets = 0;
    REQUIRE(h.fixture().run_until([&] {
        most_sockets = std::max(most_sockets, h.pool().socket_count());
        return std::all_of(reports.begin(), reports.end(),
                           [](const auto& report) { return report.has_value(); });
    }));
    CHECK(most_sockets == 3);
    for (const auto& report : reports) {
        CHECK(report->success);
    }
    runs.clear();
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp: a session destroyed mid-flight unregisters and is never answered",
          "[integration][icmp]") {
    if (!test::require_icmp(AF_INET)) {
        return;
    }
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);

    SECTION("while resolving") {
        std::optional<app::ProbeReport> report;
        auto run = h.start("icmp_v4", "127.0.0.1", 5, &report);
        run.reset();
        h.loop().run_once_nowait();
        CHECK_FALSE(report.has_value());
    }
    SECTION("after the request went out") {
        std::optional<app::ProbeReport> report;
        auto run = h.start("icmp_v4", "127.0.0.1", 5, &report);
        // Stop as soon as the socket exists: the request is out, and the reply is on its way
        // or already queued on the socket.
        REQUIRE(h.fixture().run_until(
            [&] { return h.pool().socket_count() == 1 || report.has_value(); }));
        const bool answered_already = report.has_value();
        run.reset();
        CHECK(h.fixture().run_until([&] { return h.pool().socket_count() == 0; }));
        CHECK(report.has_value() == answered_already);
    }
    SECTION("an echo destroyed right after sending, on the pool directly") {
        int replies = 0;
        auto destination = net::IpAddress::parse("127.0.0.1");
        REQUIRE(destination);
        IcmpSocketOptions options;
        auto echo =
            h.pool().prepare_echo(options, *destination, 1, "x", [&](const auto&) { ++replies; });
        REQUIRE(echo);
        REQUIRE((*echo)->send());
        echo.value().reset();
        CHECK(h.fixture().run_until([&] { return h.pool().socket_count() == 0; }));
        CHECK(replies == 0);
    }
    SECTION("the pool destroyed before its echo") {
        int replies = 0;
        auto destination = net::IpAddress::parse("127.0.0.1");
        REQUIRE(destination);
        auto pool = std::make_unique<modules::icmp::IcmpSocketPool>(h.loop());
        auto echo = pool->prepare_echo(IcmpSocketOptions{}, *destination, 1, "x",
                                       [&](const auto&) { ++replies; });
        REQUIRE(echo);
        REQUIRE((*echo)->send());
        pool.reset();
        CHECK_FALSE((*echo)->send());  // detached: it says so instead of touching freed memory
        echo.value().reset();
        h.loop().run_once_nowait();
        CHECK(replies == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp pool: one reply per echo with ids and sequences kept apart",
          "[integration][icmp]") {
    if (!test::require_icmp(AF_INET)) {
        return;
    }
    test::LoopFixture fx;
    modules::icmp::IcmpSocketPool pool(fx.loop());
    auto destination = net::IpAddress::parse("127.0.0.1");
    REQUIRE(destination);
    // Two echoes with the same identifier get different sequence numbers and each exactly one
    // reply; on a raw socket each also sees the other's reply and must ignore it.
    int first = 0;
    int second = 0;
    auto a = pool.prepare_echo({}, *destination, 7, "same", [&](const auto&) { ++first; });
    auto b = pool.prepare_echo({}, *destination, 7, "same", [&](const auto&) { ++second; });
    REQUIRE(a);
    REQUIRE(b);
    CHECK((*a)->sequence() != (*b)->sequence());
    REQUIRE((*a)->send());
    REQUIRE((*b)->send());
    REQUIRE(fx.run_until([&] { return first == 1 && second == 1; }));
    // Sending an answered echo again gets no second callback.
    CHECK_FALSE((*a)->send());
    a.value().reset();
    b.value().reset();
    REQUIRE(fx.run_until([&] { return pool.socket_count() == 0; }));
    CHECK(first == 1);
    CHECK(second == 1);
}

// The tests below run inside a network namespace (tests/support/netns.hpp): the host's
// sysctls are never touched.

TEST_CASE("icmp uses an unprivileged datagram socket where ping_group_range allows it",
          "[integration][icmp]") {
    (void)test::run_in_netns("sysctl -qw net.ipv4.ping_group_range='0 2147483647'",
                             "icmp netns child: datagram socket");
}

TEST_CASE("icmp netns child: datagram socket", "[.][icmp-netns-child]") {
    REQUIRE(test::in_netns_child());
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    for (const auto& [module, target] :
         {std::pair{"icmp_v4", "127.0.0.1"}, std::pair{"icmp_v6", "::1"},
          std::pair{"icmp_df_big", "127.0.0.1"}}) {
        CAPTURE(module);
        std::optional<IcmpSocketKind> kind;
        std::optional<app::ProbeReport> report;
        auto run = h.start(module, target, 5, &report);
        REQUIRE(h.fixture().run_until([&] {
            const int family = std::string(target) == "::1" ? AF_INET6 : AF_INET;
            IcmpSocketOptions options;
            options.family = family;
            options.dont_fragment = std::string(module) == "icmp_df_big";
            if (!kind) {
                kind = h.pool().socket_kind(options);
            }
            return report.has_value();
        }));
        INFO(report->log);
        CHECK(report->success);
        CHECK(kind == IcmpSocketKind::Datagram);
        CHECK(metric_value(*report->registry, "probe_icmp_reply_hop_limit"));
        check_phases_present(*report->registry);
        run.reset();
    }
    // Many concurrent pings on the datagram socket: the kernel rewrites the identifier, so
    // replies are told apart by sequence.
    std::vector<std::optional<app::ProbeReport>> reports(50);
    std::vector<std::unique_ptr<app::ProbeRun>> runs;
    for (auto& report : reports) {
        runs.push_back(h.start("icmp_v4", "127.0.0.1", 5, &report));
    }
    REQUIRE(h.fixture().run_until([&] {
        return std::all_of(reports.begin(), reports.end(),
                           [](const auto& report) { return report.has_value(); });
    }));
    for (const auto& report : reports) {
        CHECK(report->success);
    }
    runs.clear();
    REQUIRE(h.close() == 0);
}

TEST_CASE("icmp: nothing answers, so the deadline ends the probe", "[integration][icmp]") {
    (void)test::run_in_netns("sysctl -qw net.ipv4.icmp_echo_ignore_all=1",
                             "icmp netns child: no reply");
}

TEST_CASE("icmp netns child: no reply", "[.][icmp-netns-child]") {
    REQUIRE(test::in_netns_child());
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    const auto report = h.run("icmp_v4", "127.0.0.1", 0.3);
    INFO(report.log);
    CHECK_FALSE(report.success);
    CHECK(report.failure == FailureKind::Timeout);
    check_phases_present(*report.registry);
    CHECK(metric_value(*report.registry, "probe_icmp_duration_seconds", {{"phase", "rtt"}}) == 0);
    CHECK_FALSE(metric_value(*report.registry, "probe_icmp_reply_hop_limit"));
    CHECK(report.duration_seconds >= 0.3);
    // The destroyed session left the socket, which then closed.
    CHECK(h.fixture().run_until([&] { return h.pool().socket_count() == 0; }));
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

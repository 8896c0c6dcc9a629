#include "modules/common/target_address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "tests/support/fake_dns_server.hpp"
#include "tests/support/loop_fixture.hpp"

namespace sonde::modules {
namespace {

// The one sample of an unlabelled gauge family, as the exporter would serialise it; nullopt
// when the family is not registered.
struct GaugeSample {
    std::string help;
    double value = 0;
};
std::optional<GaugeSample> gauge_sample(prometheus::Registry& registry, const std::string& name) {
    for (const auto& family : registry.Collect()) {
        if (family.name == name && family.type == prometheus::MetricType::Gauge &&
            family.metric.size() == 1 && family.metric.front().label.empty()) {
            return GaugeSample{family.help, family.metric.front().gauge.value};
        }
    }
    return std::nullopt;
}

double gauge_value(prometheus::Registry& registry, const std::string& name) {
    const auto sample = gauge_sample(registry, name);
    REQUIRE(sample.has_value());
    return sample->value;
}

// FNV-1a 32 written out from its definition (offset basis 0x811c9dc5, prime 0x01000193), kept
// apart from the code under test.
double expected_fnv1a(const std::vector<unsigned>& bytes) {
    std::uint64_t hash = 0x811c9dc5;
    for (const unsigned byte : bytes) {
        hash = ((hash ^ byte) * 0x01000193) % 0x100000000;
    }
    return static_cast<double>(hash);
}

struct Chosen {
    int calls = 0;
    bool ok = false;
    std::string address;
    std::string error;

    TargetAddressCallback callback() {
        return [this](const Result<net::IpAddress>& r) {
            ++calls;
            ok = r.has_value();
            if (ok) {
                address = r.value().to_string();
            } else {
                error = r.error();
            }
        };
    }
};

struct Env {
    test::LoopFixture fixture;
    test::FakeDnsServer server{fixture.loop()};
    std::unique_ptr<net::Resolver> resolver;

    Env() {
        server.add_a("both.test", "127.0.0.2");
        server.add_aaaa("both.test", "::1");
        server.add_aaaa("v6only.test", "::1");
        server.add_a("v4only.test", "127.0.0.2");
        server.add_a("v4many.test", "127.0.0.2");
        server.add_a("v4many.test", "127.0.0.3");
        server.add_a("v4many.test", "127.0.0.4");
        server.nxdomain("nosuch.test");
        net::ResolverOptions options;
        options.servers = {server.address()};
        options.use_hosts_file = false;
        auto created = net::Resolver::create(fixture.loop(), options);
        REQUIRE(created.has_value());
        resolver = std::move(created).value();
    }

    Chosen run(const std::string& host, const std::string& preferred, bool fallback,
               prometheus::Registry& registry) {
        Chosen chosen;
        auto request =
            resolve_target(*resolver, host, preferred, fallback, 2000, registry, chosen.callback());
        CHECK(chosen.calls == 0);  // never inside resolve_target()
        REQUIRE(fixture.run_until([&] { return chosen.calls > 0; }));
        CHECK(chosen.calls == 1);
        return chosen;
    }

    int close() {
        resolver.reset();
        server.close();
        return fixture.close();
    }
};

TEST_CASE("resolve_target follows chooseProtocol", "[integration][resolver]") {
    struct Row {
        std::string host;
        std::string preferred;
        bool fallback;
        std::string address;  // empty: an error is expected
        int protocol;
    };
    const auto row = GENERATE(values<Row>({
        {"both.test", "ip6", true, "::1", 6},
        {"both.test", "", true, "::1", 6},
        {"both.test", "ip4", true, "127.0.0.2", 4},
        {"both.test", "ip6", false, "::1", 6},
        {"both.test", "ip4", false, "127.0.0.2", 4},
        {"v6only.test", "ip4", true, "::1", 6},
        {"v4only.test", "ip6", true, "127.0.0.2", 4},
        {"v4only.test", "ip6", false, "", 0},
        {"v6only.test", "ip4", false, "", 0},
        // The last address of the other family wins.
        {"v4many.test", "ip6", true, "127.0.0.4", 4},
        // Literals go through the same rule.
        {"127.0.0.1", "ip6", true, "127.0.0.1", 4},
        {"127.0.0.1", "ip6", false, "", 0},
        {"::1", "ip4", true, "::1", 6},
        {"nosuch.test", "ip4", true, "", 0},
    }));
    CAPTURE(row.host, row.preferred, row.fallback);
    Env env;
    prometheus::Registry registry;
    const auto chosen = env.run(row.host, row.preferred, row.fallback, registry);
    if (row.address.empty()) {
        CHECK_FALSE(chosen.ok);
        CHECK(chosen.error.rfind("lookup " + row.host + ": ", 0) == 0);
    } else {
        CHECK(chosen.ok);
        CHECK(chosen.address == row.address);
    }
    CHECK(gauge_value(registry, "probe_ip_protocol") == row.protocol);
    CHECK(gauge_value(registry, "probe_dns_lookup_time_seconds") > 0);
    CHECK(gauge_value(registry, "probe_dns_lookup_time_seconds") < 2);
    if (row.address.empty()) {
        CHECK(gauge_value(registry, "probe_ip_addr_hash") == 0);
    }
    REQUIRE(env.close() == 0);
}

TEST_CASE("resolve_target sets the exporter's metrics", "[integration][resolver]") {
    Env env;
    prometheus::Registry registry;
    const auto chosen = env.run("127.0.0.1", "ip4", false, registry);
    REQUIRE(chosen.ok);

    const auto protocol = gauge_sample(registry, "probe_ip_protocol");
    REQUIRE(protocol.has_value());
    CHECK(protocol->help == "Specifies whether probe ip protocol is IP4 or IP6");
    CHECK(protocol->value == 4);

    const auto lookup = gauge_sample(registry, "probe_dns_lookup_time_seconds");
    REQUIRE(lookup.has_value());
    CHECK(lookup->help == "Returns the time taken for probe dns lookup in seconds");
    CHECK(lookup->value > 0);

    const auto hash = gauge_sample(registry, "probe_ip_addr_hash");
    REQUIRE(hash.has_value());
    CHECK(hash->help ==
          "Specifies the hash of IP address. It's useful to detect if the IP address changes.");
    CHECK(hash->value == expected_fnv1a({0x7f, 0x00, 0x00, 0x01}));

    SECTION("IPv6: the hash covers all 16 bytes") {
        prometheus::Registry registry6;
        const auto chosen6 = env.run("::1", "ip6", false, registry6);
        REQUIRE(chosen6.ok);
        CHECK(gauge_value(registry6, "probe_ip_protocol") == 6);
        CHECK(gauge_value(registry6, "probe_ip_addr_hash") ==
              expected_fnv1a({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    }
    REQUIRE(env.close() == 0);
}

TEST_CASE("resolve_target registers its metrics also on failure", "[integration][resolver]") {
    Env env;
    prometheus::Registry registry;
    const auto chosen = env.run("nosuch.test", "ip6", true, registry);
    CHECK_FALSE(chosen.ok);
    CHECK(chosen.error == "lookup nosuch.test: Domain name not found");
    CHECK(gauge_value(registry, "probe_ip_protocol") == 0);
    CHECK(gauge_value(registry, "probe_ip_addr_hash") == 0);
    CHECK(gauge_value(registry, "probe_dns_lookup_time_seconds") > 0);
    REQUIRE(env.close() == 0);
}

TEST_CASE("A destroyed resolve_target request never calls back", "[integration][resolver]") {
    Env env;
    prometheus::Registry registry;
    Chosen dropped;
    auto request =
        resolve_target(*env.resolver, "both.test", "ip6", true, 2000, registry, dropped.callback());
    request.reset();
    // Answers come back in order: once a later lookup is done, the first has been dropped.
    prometheus::Registry later_registry;
    const auto later = env.run("v4only.test", "ip4", true, later_registry);
    CHECK(later.ok);
    CHECK(dropped.calls == 0);
    REQUIRE(env.close() == 0);
}

TEST_CASE("choose_address: first preferred, else last of the other family",
          "[integration][resolver]") {
    const auto ip = [](const char* text) { return *net::IpAddress::parse(text); };
    const std::vector<net::IpAddress> mixed = {ip("192.0.2.1"), ip("2001:db8::1"), ip("192.0.2.2"),
                                               ip("2001:db8::2")};
    CHECK(choose_address(mixed, AF_INET6) == ip("2001:db8::1"));
    CHECK(choose_address(mixed, AF_INET) == ip("192.0.2.1"));
    const std::vector<net::IpAddress> v4 = {ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")};
    CHECK(choose_address(v4, AF_INET6) == ip("192.0.2.3"));
    const std::vector<net::IpAddress> v6 = {ip("2001:db8::1"), ip("2001:db8::2")};
    CHECK(choose_address(v6, AF_INET) == ip("2001:db8::2"));
    CHECK_FALSE(choose_address({}, AF_INET).has_value());
}

}  // namespace
}  // namespace sonde::modules

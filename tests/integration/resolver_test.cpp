#include "prober/net/resolver.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <uv.h>

#include "tests/support/fake_dns_server.hpp"
#include "tests/support/loop_fixture.hpp"

namespace sonde::net {
namespace {

using Addresses = std::vector<IpAddress>;

std::vector<std::string> texts(const Addresses& addresses) {
    std::vector<std::string> out;
    for (const auto& address : addresses) {
        out.push_back(address.to_string());
    }
    return out;
}

// Collects the callbacks of one request.
struct Outcome {
    int calls = 0;
    bool ok = false;
    std::vector<std::string> addresses;  // as text
    std::string error;
    std::uint64_t at_ns = 0;

    // The outcome is copied out as text: moving the Result into an optional member trips a
    // false -Wfree-nonheap-object in GCC 12.
    Resolver::Callback callback() {
        return [this](const Result<Addresses>& r) {
            ++calls;
            at_ns = uv_hrtime();
            ok = r.has_value();
            if (ok) {
                addresses = texts(r.value());
            } else {
                error = r.error();
            }
        };
    }
    bool done() const { return calls > 0; }
};

std::unique_ptr<Resolver> make_resolver(Loop& loop, const test::FakeDnsServer& server,
                                        bool use_hosts_file = false) {
    ResolverOptions options;
    options.servers = {server.address()};
    options.use_hosts_file = use_hosts_file;
    auto resolver = Resolver::create(loop, options);
    REQUIRE(resolver.has_value());
    return std::move(resolver).value();
}

TEST_CASE("Resolver answers IP literals, never inside resolve()", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    {
        auto resolver = make_resolver(fixture.loop(), server);
        const auto [host, family] = GENERATE(std::pair<std::string, int>{"127.0.0.1", AF_UNSPEC},
                                             std::pair<std::string, int>{"127.0.0.1", AF_INET},
                                             std::pair<std::string, int>{"::1", AF_UNSPEC},
                                             std::pair<std::string, int>{"::1", AF_INET6});
        Outcome outcome;
        auto request = resolver->resolve(host, family, 1000, outcome.callback());
        CHECK(outcome.calls == 0);
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));
        CHECK(outcome.calls == 1);
        REQUIRE(outcome.ok);
        CHECK(outcome.addresses == std::vector<std::string>{host});
        CHECK(server.queries_received() == 0);
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Resolver refuses a literal of the other family", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    {
        auto resolver = make_resolver(fixture.loop(), server);
        Outcome outcome;
        auto request = resolver->resolve("127.0.0.1", AF_INET6, 1000, outcome.callback());
        CHECK(outcome.calls == 0);
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));
        REQUIRE_FALSE(outcome.ok);
        CHECK(outcome.error == "lookup 127.0.0.1: no suitable address found");
        CHECK(server.queries_received() == 0);
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Resolver reads localhost from the hosts file", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    {
        auto resolver = make_resolver(fixture.loop(), server, /*use_hosts_file=*/true);
        Outcome outcome;
        auto request = resolver->resolve("localhost", AF_INET, 1000, outcome.callback());
        CHECK(outcome.calls == 0);
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));
        REQUIRE(outcome.ok);
        CHECK(outcome.addresses == std::vector<std::string>{"127.0.0.1"});
        CHECK(server.queries_received() == 0);
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Resolver gets A and AAAA records from the DNS server", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    server.add_a("both.test", "127.0.0.2");
    server.add_aaaa("both.test", "::1");
    {
        auto resolver = make_resolver(fixture.loop(), server);

        SECTION("A only") {
            Outcome outcome;
            auto request = resolver->resolve("both.test", AF_INET, 2000, outcome.callback());
            REQUIRE(fixture.run_until([&] { return outcome.done(); }));
            REQUIRE(outcome.ok);
            CHECK(outcome.addresses == std::vector<std::string>{"127.0.0.2"});
        }
        SECTION("AAAA only") {
            Outcome outcome;
            auto request = resolver->resolve("both.test", AF_INET6, 2000, outcome.callback());
            REQUIRE(fixture.run_until([&] { return outcome.done(); }));
            REQUIRE(outcome.ok);
            CHECK(outcome.addresses == std::vector<std::string>{"::1"});
        }
        SECTION("both families") {
            Outcome outcome;
            auto request = resolver->resolve("both.test", AF_UNSPEC, 2000, outcome.callback());
            REQUIRE(fixture.run_until([&] { return outcome.done(); }));
            REQUIRE(outcome.ok);
            auto found = outcome.addresses;
            std::sort(found.begin(), found.end());
            CHECK(found == std::vector<std::string>{"127.0.0.2", "::1"});
            CHECK(outcome.calls == 1);
        }
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Resolver reports NXDOMAIN with c-ares' text", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    server.nxdomain("nosuch.invalid");
    {
        auto resolver = make_resolver(fixture.loop(), server);
        Outcome outcome;
        auto request = resolver->resolve("nosuch.invalid", AF_UNSPEC, 2000, outcome.callback());
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));
        REQUIRE_FALSE(outcome.ok);
        CHECK(outcome.error == "lookup nosuch.invalid: Domain name not found");
        CHECK(server.queries_received() >= 1);
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Resolver times a silent server out by the request's deadline",
          "[integration][resolver]") {
    test::LoopFixture fixture(5000);
    test::FakeDnsServer server(fixture.loop());
    server.silent("silent.test");
    {
        auto resolver = make_resolver(fixture.loop(), server);
        Outcome outcome;
        const std::uint64_t start = uv_hrtime();
        auto request = resolver->resolve("silent.test", AF_INET, 200, outcome.callback());
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));  // not the watchdog
        CHECK(outcome.calls == 1);
        REQUIRE_FALSE(outcome.ok);
        CHECK(outcome.error == "lookup silent.test: i/o timeout");
        const double elapsed_ms = static_cast<double>(outcome.at_ns - start) / 1e6;
        CHECK(elapsed_ms >= 195.0);
        CHECK(elapsed_ms < 1000.0);
        CHECK(server.queries_received() >= 1);
        // The c-ares query is still outstanding; destroying the Resolver below cancels it.
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("A destroyed request never calls back", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    server.add_a("first.test", "127.0.0.2");
    server.add_a("second.test", "127.0.0.3");
    {
        auto resolver = make_resolver(fixture.loop(), server);

        SECTION("before the server answered") {
            Outcome dropped;
            auto request = resolver->resolve("first.test", AF_INET, 2000, dropped.callback());
            request.reset();
            // The answer to the first query reaches c-ares before the answer to the second,
            // so once the second is delivered the first has been processed and dropped.
            Outcome later;
            auto second = resolver->resolve("second.test", AF_INET, 2000, later.callback());
            REQUIRE(fixture.run_until([&] { return later.done(); }));
            CHECK(server.answers_sent() == 2);
            CHECK(dropped.calls == 0);
        }
        SECTION("a literal, before the posted answer ran") {
            Outcome dropped;
            auto request = resolver->resolve("127.0.0.1", AF_INET, 2000, dropped.callback());
            request.reset();
            Outcome later;
            auto second = resolver->resolve("127.0.0.2", AF_INET, 2000, later.callback());
            REQUIRE(fixture.run_until([&] { return later.done(); }));
            CHECK(dropped.calls == 0);
        }
        SECTION("from inside its own callback") {
            std::unique_ptr<ResolveRequest> request;
            int calls = 0;
            request = resolver->resolve("first.test", AF_INET, 2000, [&](Result<Addresses> r) {
                ++calls;
                CHECK(r.has_value());
                request.reset();
            });
            REQUIRE(fixture.run_until([&] { return calls > 0; }));
            CHECK(calls == 1);
        }
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Destroying the Resolver with queries in flight is clean", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    server.silent("silent.test");
    server.add_a("answered.test", "127.0.0.2");
    Outcome silent;
    Outcome answered;
    Outcome literal;
    std::unique_ptr<ResolveRequest> silent_request;
    std::unique_ptr<ResolveRequest> answered_request;
    std::unique_ptr<ResolveRequest> literal_request;
    {
        auto resolver = make_resolver(fixture.loop(), server);
        silent_request = resolver->resolve("silent.test", AF_UNSPEC, 2000, silent.callback());
        answered_request = resolver->resolve("answered.test", AF_INET, 2000, answered.callback());
        // Let the queries reach the server (and the answer come back, unread by c-ares).
        REQUIRE(fixture.run_until([&] { return server.queries_received() >= 2; }));
        // The literal's answer is posted, not yet delivered, when the Resolver goes.
        literal_request = resolver->resolve("::1", AF_UNSPEC, 2000, literal.callback());
        if (GENERATE(false, true)) {
            // Requests outliving the Resolver must still be safe to destroy first.
            literal_request.reset();
        }
    }
    // Run the loop a while: no callback may run once the Resolver has gone.
    for (int spin = 0; spin < 20; ++spin) {
        fixture.loop().run_once_nowait();
    }
    silent_request.reset();
    answered_request.reset();
    literal_request.reset();
    CHECK(silent.calls == 0);
    CHECK(answered.calls == 0);
    CHECK(literal.calls == 0);
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Resolver reports c-ares' own timeout when no request bound is set",
          "[integration][resolver]") {
    test::LoopFixture fixture(5000);
    test::FakeDnsServer server(fixture.loop());
    server.silent("silent.test");
    {
        ResolverOptions options;
        options.servers = {server.address()};
        options.use_hosts_file = false;
        options.attempt_timeout_ms = 50;
        options.tries = 2;
        auto created = Resolver::create(fixture.loop(), options);
        REQUIRE(created.has_value());
        auto resolver = std::move(created).value();
        Outcome outcome;
        // timeout_ms 0: only c-ares' tries (50 ms, then 100 ms) bound the lookup, through the
        // timer re-armed from ares_timeout().
        auto request = resolver->resolve("silent.test", AF_INET, 0, outcome.callback());
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));
        REQUIRE_FALSE(outcome.ok);
        CHECK(outcome.error == "lookup silent.test: Timeout while contacting DNS servers");
        CHECK(server.queries_received() == 2);
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Without the hosts file, names go to the DNS server", "[integration][resolver]") {
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    const std::string name = GENERATE(as<std::string>{}, "single", "two.labels");
    server.add_a(name, "127.0.0.9");
    {
        auto resolver = make_resolver(fixture.loop(), server, /*use_hosts_file=*/false);
        Outcome outcome;
        auto request = resolver->resolve(name, AF_INET, 2000, outcome.callback());
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));
        CAPTURE(outcome.error);
        REQUIRE(outcome.ok);
        CHECK(outcome.addresses == std::vector<std::string>{"127.0.0.9"});
        CHECK(server.queries_received() == 1);
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("localhost is never sent to the DNS server", "[integration][resolver]") {
    // c-ares 1.18 keeps "localhost" off the network (RFC 6761); without the hosts file the
    // lookup fails ("Could not contact DNS servers") rather than asking the server.
    test::LoopFixture fixture;
    test::FakeDnsServer server(fixture.loop());
    server.add_a("localhost", "127.0.0.9");
    {
        auto resolver = make_resolver(fixture.loop(), server, /*use_hosts_file=*/false);
        Outcome outcome;
        auto request = resolver->resolve("localhost", AF_INET, 2000, outcome.callback());
        REQUIRE(fixture.run_until([&] { return outcome.done(); }));
        CHECK(outcome.calls == 1);
        CHECK(server.queries_received() == 0);
    }
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("A callback may destroy the Resolver", "[integration][resolver]") {
    test::LoopFixture fixture(5000);
    test::FakeDnsServer server(fixture.loop());
    server.add_a("answered.test", "127.0.0.2");
    server.silent("silent.test");
    auto resolver = make_resolver(fixture.loop(), server);
    Outcome other;
    auto other_request = resolver->resolve("silent.test", AF_INET, 2000, other.callback());
    int calls = 0;
    const auto [host, timeout_ms] =
        GENERATE(std::pair<std::string, std::uint64_t>{"answered.test", 2000},  // a posted answer
                 std::pair<std::string, std::uint64_t>{"silent.test", 100},  // the request's timer
                 std::pair<std::string, std::uint64_t>{"127.0.0.1", 2000});  // a literal
    auto request = resolver->resolve(host, AF_INET, timeout_ms, [&](const Result<Addresses>&) {
        ++calls;
        resolver.reset();
    });
    REQUIRE(fixture.run_until([&] { return calls > 0; }));
    CHECK(resolver == nullptr);
    request.reset();
    other_request.reset();
    CHECK(calls == 1);
    CHECK(other.calls == 0);
    server.close();
    REQUIRE(fixture.close() == 0);
}

TEST_CASE("Resolver::create rejects a bad server list", "[integration][resolver]") {
    test::LoopFixture fixture;
    ResolverOptions options;
    options.servers = {"not an address"};
    auto resolver = Resolver::create(fixture.loop(), options);
    REQUIRE_FALSE(resolver.has_value());
    CHECK(resolver.error().rfind("resolver: servers \"not an address\": ", 0) == 0);
    REQUIRE(fixture.close() == 0);
}

}  // namespace
}  // namespace sonde::net

// The probe policy against real probes on loopback: every prober (tcp, http with its redirects
// and proxies, dns, icmp) is refused a denied address however it gets there (a literal, a name,
// a redirect, a proxy), and an allowed one still works. 127.0.0.1 is denied and 127.0.0.2
// allowed, so each denied peer is one that would have answered.

#include <memory>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/loader.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/net/http_server.hpp"
#include "prober/net/resolver.hpp"
#include "tests/support/fake_dns_server.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde {
namespace {

using config::DenyReason;

constexpr const char* kPolicyConfig = R"yaml(modules:
  tcp:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
  http:
    prober: http
    http:
      preferred_ip_protocol: ip4
  dns:
    prober: dns
    dns:
      preferred_ip_protocol: ip4
      query_name: example.org
      query_type: A
  icmp:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
probe_policy:
  allow_cidrs: [127.0.0.0/8]
  deny_cidrs: [127.0.0.1/32]
  deny_hosts: ["*.blocked.test"]
  scheduled: false
)yaml";

// kPolicyConfig plus one http module using a proxy (modules: is the first section, so it is
// re-opened by writing the whole file).
std::string config_with_proxy(const std::string& proxy_url, bool skip_resolve) {
    std::string text = kPolicyConfig;
    const std::string module = std::string("  via_proxy:\n    prober: http\n    http:\n") +
                               "      preferred_ip_protocol: ip4\n      proxy_url: " + proxy_url +
                               "\n" +
                               (skip_resolve ? "      skip_resolve_phase_with_proxy: true\n" : "");
    text.insert(text.find("probe_policy:"), module);
    return text;
}

// A listening socket on ip, port 0: the kernel completes TCP handshakes on its own, enough for a
// tcp probe to succeed, with no loop or thread in the test.
class Listener {
public:
    explicit Listener(const char* ip) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        REQUIRE(inet_pton(AF_INET, ip, &addr.sin_addr) == 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t length = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
        address_ = std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
    }
    ~Listener() { ::close(fd_); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    const std::string& address() const { return address_; }

private:
    int fd_;
    std::string address_;
};

std::string reason_of(const app::ProbeReport& report) {
    return report.denied ? config::deny_reason_label(report.denied->reason) : "(not denied)";
}

}  // namespace

TEST_CASE("policy: tcp to a denied literal is refused before connecting", "[integration][policy]") {
    test::ProbeHarness h;
    h.load(kPolicyConfig);
    {
        test::ScriptedTcpServer denied(h.loop(), "hello\n", {}, "127.0.0.1");
        test::ScriptedTcpServer allowed(h.loop(), "hello\n", {}, "127.0.0.2");

        const auto refused = h.run("tcp", denied.address());
        INFO(refused.log);
        CHECK_FALSE(refused.success);
        REQUIRE(refused.denied.has_value());
        CHECK(refused.denied->reason == DenyReason::DeniedCidr);
        CHECK(refused.denied->before_any_dial);
        CHECK(refused.denied->message ==
              "denied by probe_policy: address 127.0.0.1 is in deny_cidrs 127.0.0.1/32");
        CHECK(refused.detail == refused.denied->message);
        CHECK(refused.log.text().find("Denied by probe policy") != std::string::npos);
        CHECK(denied.accepted() == 0);

        const auto ok = h.run("tcp", allowed.address());
        INFO(ok.log);
        CHECK(ok.success);
        CHECK_FALSE(ok.denied.has_value());
        CHECK(allowed.accepted() == 1);

        // Outside allow_cidrs (::1 is not in 127.0.0.0/8): refused, whatever listens there.
        const auto outside = h.run("tcp", "[::1]:9");
        CHECK(reason_of(outside) == "cidr_not_allowed");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("policy: a name cannot point around the rules", "[integration][policy]") {
    test::ProbeHarness h;
    h.load(kPolicyConfig);
    {
        test::FakeDnsServer dns(h.loop());
        dns.add_a("forbidden.test", "127.0.0.1");
        dns.add_a("ok.test", "127.0.0.2");
        dns.add_a("mixed.test", "127.0.0.1");
        dns.add_a("mixed.test", "127.0.0.2");
        dns.add_a("x.blocked.test", "127.0.0.2");
        net::ResolverOptions options;
        options.servers = {dns.address()};
        options.use_hosts_file = false;
        h.use_resolver(options);
        test::ScriptedTcpServer denied(h.loop(), "hello\n", {}, "127.0.0.1");
        test::ScriptedTcpServer allowed(h.loop(), "hello\n", {}, "127.0.0.2");
        REQUIRE(denied.port() != allowed.port());
        const std::string denied_port = std::to_string(denied.port());
        const std::string allowed_port = std::to_string(allowed.port());

        SECTION("a name resolving to the denied address") {
            const auto report = h.run("tcp", "forbidden.test:" + denied_port);
            INFO(report.log);
            CHECK(reason_of(report) == "denied_cidr");
            CHECK(report.denied->message ==
                  "denied by probe_policy: address 127.0.0.1 of "
                  "\"forbidden.test\" is in deny_cidrs 127.0.0.1/32");
            CHECK(denied.accepted() == 0);
        }
        SECTION("a name resolving to an allowed address") {
            const auto report = h.run("tcp", "ok.test:" + allowed_port);
            INFO(report.log);
            CHECK(report.success);
            CHECK(allowed.accepted() == 1);
        }
        SECTION("a name with both: only the allowed address can be chosen") {
            const auto report = h.run("tcp", "mixed.test:" + allowed_port);
            INFO(report.log);
            CHECK(report.success);
            CHECK_FALSE(report.denied.has_value());
            CHECK(allowed.accepted() == 1);
            CHECK(denied.accepted() == 0);
        }
        SECTION("a denied host pattern is refused without a lookup") {
            const int queries = dns.queries_received();
            const auto report = h.run("tcp", "X.Blocked.Test:" + allowed_port);
            INFO(report.log);
            CHECK(reason_of(report) == "denied_host");
            CHECK(report.denied->before_any_dial);
            CHECK(dns.queries_received() == queries);
            CHECK(allowed.accepted() == 0);
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("policy: http redirects and proxies are checked where they lead",
          "[integration][policy]") {
    test::ProbeHarness h;
    int denied_requests = 0;
    net::HttpServer denied_server(h.loop(),
                                  [&](const net::HttpRequest&, net::HttpResponder responder) {
                                      ++denied_requests;
                                      responder.respond(net::HttpResponse::text(200, "secret"));
                                  });
    REQUIRE(denied_server.listen("127.0.0.1:0"));
    const std::string denied_at = "127.0.0.1:" + std::to_string(denied_server.bound_port());
    int allowed_requests = 0;
    net::HttpServer allowed_server(
        h.loop(), [&](const net::HttpRequest& request, net::HttpResponder responder) {
            ++allowed_requests;
            if (request.path == "/redirect") {
                net::HttpResponse response = net::HttpResponse::text(302, "");
                response.headers.set("Location", "http://" + denied_at + "/");
                responder.respond(std::move(response));
                return;
            }
            responder.respond(net::HttpResponse::text(200, "ok"));
        });
    REQUIRE(allowed_server.listen("127.0.0.2:0"));
    const std::string allowed_at = "127.0.0.2:" + std::to_string(allowed_server.bound_port());
    test::ScriptedTcpServer denied_proxy(h.loop(), {}, {}, "127.0.0.1");
    test::ScriptedTcpServer allowed_proxy(h.loop(), {}, {}, "127.0.0.2");

    SECTION("an allowed target answers") {
        h.load(kPolicyConfig);
        const auto report = h.run("http", "http://" + allowed_at + "/");
        INFO(report.log);
        CHECK(report.success);
        CHECK(allowed_requests == 1);
    }
    SECTION("a redirect to a denied address fails the probe mid-way, with the reason") {
        h.load(kPolicyConfig);
        const auto report = h.run("http", "http://" + allowed_at + "/redirect");
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(reason_of(report) == "denied_cidr");
        CHECK_FALSE(report.denied->before_any_dial);
        CHECK(report.detail.find("denied by probe_policy: address 127.0.0.1") != std::string::npos);
        CHECK(allowed_requests == 1);
        CHECK(denied_requests == 0);
    }
    SECTION("a denied proxy is never dialled") {
        h.load(config_with_proxy("http://" + denied_proxy.address(), false));
        const auto report = h.run("via_proxy", "http://" + allowed_at + "/");
        INFO(report.log);
        CHECK(reason_of(report) == "denied_cidr");
        CHECK(report.detail.find("proxyconnect: denied by probe_policy") != std::string::npos);
        CHECK(denied_proxy.accepted() == 0);
        CHECK(allowed_requests == 0);
    }
    SECTION("a target the proxy resolves is checked by name, and as a literal") {
        h.load(config_with_proxy("http://" + allowed_proxy.address(), true));
        const auto by_name = h.run("via_proxy", "http://www.blocked.test/");
        INFO(by_name.log);
        CHECK(reason_of(by_name) == "denied_host");
        CHECK(by_name.denied->before_any_dial);
        const auto literal = h.run("via_proxy", "http://" + denied_at + "/");
        INFO(literal.log);
        CHECK(reason_of(literal) == "denied_cidr");
        CHECK(allowed_proxy.accepted() == 0);
        CHECK(denied_requests == 0);
    }
    denied_server.stop();
    allowed_server.stop();
    denied_proxy.stop();
    allowed_proxy.stop();
    REQUIRE(h.close() == 0);
}

TEST_CASE("policy: the dns server and the icmp target are checked", "[integration][policy]") {
    test::ProbeHarness h;
    h.load(kPolicyConfig);
    {
        test::FakeDnsServer dns(h.loop());
        dns.add_a("example.org", "192.0.2.1");
        const auto report = h.run("dns", dns.address());
        INFO(report.log);
        CHECK(reason_of(report) == "denied_cidr");
        CHECK(dns.queries_received() == 0);

        const auto ping = h.run("icmp", "127.0.0.1");
        INFO(ping.log);
        CHECK_FALSE(ping.success);
        CHECK(reason_of(ping) == "denied_cidr");
        CHECK(ping.detail ==
              "denied by probe_policy: address 127.0.0.1 is in deny_cidrs "
              "127.0.0.1/32");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("policy: scheduled probes follow the policy's scheduled key", "[integration][policy]") {
    test::LoopFixture fx;
    auto resolver = net::Resolver::create(fx.loop());
    REQUIRE(resolver.has_value());
    {
        test::ScriptedTcpServer server(fx.loop(), "hello\n", {}, "127.0.0.1");
        const bool scheduled_key = GENERATE(false, true);
        std::string text = kPolicyConfig;
        if (scheduled_key) {
            text.replace(text.find("scheduled: false"), 16, "scheduled: true");
        }
        auto loaded = config::load_config_text(text, "t.yml");
        REQUIRE(loaded.has_value());
        for (const bool scheduled : {false, true}) {
            app::ProbeRequest request;
            request.config = loaded->config;
            request.module_name = "tcp";
            request.target = server.address();
            request.timeout_seconds = 5;
            request.scheduled = scheduled;
            std::optional<app::ProbeReport> report;
            auto run = app::ProbeRun::start(
                app::ProbeEnvironment{fx.loop(), **resolver}, std::move(request),
                [&report](app::ProbeReport r) { report = std::move(r); });
            REQUIRE(fx.run_until([&] { return report.has_value(); }));
            run.reset();
            INFO("scheduled key " << scheduled_key << ", scheduled probe " << scheduled);
            const bool applies = !scheduled || scheduled_key;
            CHECK(report->denied.has_value() == applies);
            CHECK(report->success == !applies);
            CHECK(report->failure ==
                  (applies ? modules::FailureKind::Denied : modules::FailureKind::None));
        }
    }
    resolver->reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("policy: a probe destroyed while its denial is on the way", "[integration][policy]") {
    test::ProbeHarness h;
    h.load(kPolicyConfig);
    {
        test::FakeDnsServer dns(h.loop());
        dns.add_a("forbidden.test", "127.0.0.1");
        net::ResolverOptions options;
        options.servers = {dns.address()};
        options.use_hosts_file = false;
        h.use_resolver(options);
        const std::string target =
            GENERATE(std::string("a.blocked.test:80"), std::string("forbidden.test:80"),
                     std::string("127.0.0.1:80"));
        INFO(target);
        std::optional<app::ProbeReport> report;
        auto run = h.start("tcp", target, 5, &report);
        // One turn of the loop at most: the denial (posted, or the lookup's answer) may or may
        // not be in; either way destroying the run must cancel it without a report.
        h.loop().run_once_nowait();
        run.reset();
        report.reset();
        bool spun = false;
        h.loop().post([&] { spun = true; });
        REQUIRE(h.fixture().run_until([&] { return spun; }));
        h.loop().run_once_nowait();
        CHECK_FALSE(report.has_value());
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("policy: /probe answers 403 with the reason, counts it, and reloads",
          "[integration][policy]") {
    test::TempDir dir;
    Listener denied("127.0.0.1");
    Listener allowed("127.0.0.2");
    const std::string config = dir.write("sonde.yml", kPolicyConfig);
    test::SondeProcess sonde({"--config.file=" + config});
    const auto probe = [&](const std::string& target) {
        return test::http_request(sonde.port(), "GET", "/probe?module=tcp&target=" + target);
    };

    auto reply = probe(denied.address());
    CHECK(reply.status == 403);
    CHECK(reply.body ==
          "denied by probe_policy: address 127.0.0.1 is in deny_cidrs 127.0.0.1/32\n");
    reply = probe(allowed.address());
    CHECK(reply.status == 200);
    CHECK(reply.body.find("probe_success 1") != std::string::npos);
    reply = probe("[::1]:9");
    CHECK(reply.status == 403);
    CHECK(reply.body.find("is in no allow_cidrs range") != std::string::npos);
    auto metrics = test::http_request(sonde.port(), "GET", "/metrics").body;
    CHECK(metrics.find("sonde_probe_denied_total{reason=\"denied_cidr\"} 1") != std::string::npos);
    CHECK(metrics.find("sonde_probe_denied_total{reason=\"cidr_not_allowed\"} 1") !=
          std::string::npos);
    CHECK(test::http_request(sonde.port(), "GET", "/config")
              .body.find("probe_policy:\n    allow_cidrs: [127.0.0.0/8]") != std::string::npos);

    // A bad policy fails the reload with its position and keeps the old one.
    std::string bad = kPolicyConfig;
    bad.replace(bad.find("127.0.0.1/32"), 12, "127.0.0.1/99");
    dir.write("sonde.yml", bad);
    reply = test::http_request(sonde.port(), "POST", "/-/reload");
    CHECK(reply.status == 500);
    CHECK(reply.body == "failed to reload config: " + config +
                            ":22:16: probe_policy.deny_cidrs: invalid CIDR \"127.0.0.1/99\"\n");
    CHECK(probe(denied.address()).status == 403);

    // Without the section, the same target is probed.
    std::string open = kPolicyConfig;
    open.erase(open.find("probe_policy:"));
    dir.write("sonde.yml", open);
    reply = test::http_request(sonde.port(), "POST", "/-/reload");
    CHECK(reply.status == 200);
    reply = probe(denied.address());
    CHECK(reply.status == 200);
    CHECK(reply.body.find("probe_success 1") != std::string::npos);
}

}  // namespace sonde

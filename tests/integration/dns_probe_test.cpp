// The dns prober against DNS servers on loopback started by each test (UDP, TCP, DoT), mirroring
// the exporter's TestRecursiveDNSResponse / TestAuthoritativeDNSResponse /
// TestServfailDNSResponse, plus the cases only an event loop can show.
#include <optional>
#include <string>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "prober/net/tls_context.hpp"
#include "tests/support/dns_test_server.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::dns_reply;
using test::DnsReply;
using test::metric_value;

std::vector<DnsReply> recursive(std::string_view q) {
    if (!test::dns_query_rd(q)) {
        return {{dns_reply(q, 5)}};
    }
    test::DnsRecords r;
    r.answer = {test::rr_a("example.com", 3600, "127.0.0.1"),
                test::rr_a("example.com", 3600, "127.0.0.2")};
    return {{dns_reply(q, 0, r)}};
}

std::vector<DnsReply> authoritative(std::string_view q) {
    test::DnsRecords r;
    if (test::dns_query_type(q) == 6) {
        r.answer = {test::rr_soa("example.com", 3600, "ns.example.com", "noc.example.com", 1000,
                                 7200, 3600, 1209600, 3600)};
    } else if (test::dns_query_class(q) == 3 && test::dns_query_type(q) == 16) {
        r.answer = {test::rr_txt("example.com", 3600, "goCHAOS", 3)};
    } else {
        r.answer = {test::rr_a("example.com", 3600, "127.0.0.1")};
    }
    r.authority = {test::rr_ns("example.com", 7200, "ns1.isp.net"),
                   test::rr_ns("example.com", 7200, "ns2.isp.net")};
    r.additional = {test::rr_a("ns1.isp.net", 7200, "127.0.0.1"),
                    test::rr_aaaa("ns1.isp.net", 7200, "::1"),
                    test::rr_a("ns2.isp.net", 7200, "127.0.0.2")};
    return {{dns_reply(q, 0, r, true)}};
}

std::string module_yaml(const std::string& protocol, const std::string& extra) {
    return "modules:\n  m:\n    prober: dns\n    dns:\n      preferred_ip_protocol: ip4\n"
           "      query_name: example.com\n      transport_protocol: " +
           protocol + "\n" + extra;
}

struct Case {
    const char* what;
    const char* extra;
    bool success;
};

}  // namespace

TEST_CASE("dns recursive responses, as TestRecursiveDNSResponse", "[integration][dns]") {
    const Case cases[] = {
        {"plain", "", true},
        {"valid rcodes exclude NOERROR", "      valid_rcodes: [SERVFAIL, NXDOMAIN]\n", false},
        {"answer validators",
         "      validate_answer_rrs:\n        fail_if_matches_regexp: ['.*7200.*']\n"
         "        fail_if_not_matches_regexp: ['.*3600.*']\n",
         true},
        {"authority validator",
         "      validate_authority_rrs:\n"
         "        fail_if_matches_regexp: ['.*7200.*']\n",
         true},
        {"additional required but empty",
         "      validate_additional_rrs:\n"
         "        fail_if_not_matches_regexp: ['.*3600.*']\n",
         false},
        {"no recursion: REFUSED", "      recursion_desired: false\n", false},
    };
    const std::string protocol = GENERATE(as<std::string>{}, "udp", "tcp");
    for (const auto& c : cases) {
        INFO(protocol << ": " << c.what);
        test::ProbeHarness h;
        h.load(module_yaml(protocol, c.extra));
        test::DnsTestServer server(h.loop(), recursive);
        const auto report =
            h.run("m", protocol == "udp" ? server.udp_address() : server.tcp_address(), 2);
        CHECK(report.success == c.success);
        const bool rd = std::string(c.extra).find("recursion_desired") == std::string::npos;
        CHECK(metric_value(*report.registry, "probe_dns_answer_rrs") == (rd ? 2 : 0));
        CHECK(metric_value(*report.registry, "probe_dns_authority_rrs") == 0);
        CHECK(metric_value(*report.registry, "probe_dns_additional_rrs") == 0);
        CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 1);
        CHECK_FALSE(metric_value(*report.registry, "probe_dns_serial").has_value());
        for (const char* phase : {"resolve", "connect", "request"}) {
            CHECK(metric_value(*report.registry, "probe_dns_duration_seconds", {{"phase", phase}})
                      .has_value());
        }
        CHECK(metric_value(*report.registry, "probe_ip_protocol") == 4);
        server.close();
        REQUIRE(h.close() == 0);
    }
}

TEST_CASE("dns authoritative responses, as TestAuthoritativeDNSResponse", "[integration][dns]") {
    const Case cases[] = {
        {"plain", "", true},
        {"SOA", "      query_type: SOA\n", true},
        {"CH TXT",
         "      query_class: CH\n      query_type: TXT\n"
         "      validate_answer_rrs:\n        fail_if_matches_regexp: ['.*IN.*']\n"
         "        fail_if_not_matches_regexp: ['.*CH.*']\n",
         true},
        {"rcodes", "      valid_rcodes: [SERVFAIL, NXDOMAIN]\n", false},
        {"answer matches",
         "      validate_answer_rrs:\n"
         "        fail_if_matches_regexp: ['.*3600.*']\n"
         "        fail_if_not_matches_regexp: ['.*3600.*']\n",
         false},
        {"answer does not match",
         "      validate_answer_rrs:\n"
         "        fail_if_matches_regexp: ['.*7200.*']\n"
         "        fail_if_not_matches_regexp: ['.*7200.*']\n",
         false},
        {"authority",
         "      validate_authority_rrs:\n"
         "        fail_if_not_matches_regexp: ['ns.*.isp.net']\n",
         true},
        {"additional",
         "      validate_additional_rrs:\n"
         "        fail_if_not_matches_regexp: ['^ns.*.isp']\n",
         true},
        {"additional matches",
         "      validate_additional_rrs:\n"
         "        fail_if_matches_regexp: ['^ns.*.isp']\n",
         false},
        {"all match (really: not all)",
         "      validate_additional_rrs:\n"
         "        fail_if_all_match_regexp: ['.*127.0.0.*']\n",
         false},
        {"none match",
         "      validate_additional_rrs:\n"
         "        fail_if_none_matches_regexp: ['.*127.0.0.3.*']\n",
         false},
    };
    const std::string protocol = GENERATE(as<std::string>{}, "udp", "tcp");
    for (const auto& c : cases) {
        INFO(protocol << ": " << c.what);
        test::ProbeHarness h;
        h.load(module_yaml(protocol, c.extra));
        test::DnsTestServer server(h.loop(), authoritative);
        const auto report =
            h.run("m", protocol == "udp" ? server.udp_address() : server.tcp_address(), 2);
        CHECK(report.success == c.success);
        CHECK(metric_value(*report.registry, "probe_dns_answer_rrs") == 1);
        CHECK(metric_value(*report.registry, "probe_dns_authority_rrs") == 2);
        CHECK(metric_value(*report.registry, "probe_dns_additional_rrs") == 3);
        CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 1);
        if (std::string(c.what) == "SOA") {
            CHECK(metric_value(*report.registry, "probe_dns_serial") == 1000);
        }
        server.close();
        REQUIRE(h.close() == 0);
    }
}

TEST_CASE("dns SERVFAIL responses, as TestServfailDNSResponse", "[integration][dns]") {
    const Case cases[] = {
        {"default rcodes", "", false},
        {"SERVFAIL allowed", "      valid_rcodes: [SERVFAIL, NXDOMAIN]\n", true},
        {"unknown rcode name", "      valid_rcodes: [NOT_A_VALID_RCODE]\n", false},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        test::ProbeHarness h;
        h.load(module_yaml("udp", c.extra));
        test::DnsTestServer server(h.loop(), [](std::string_view q) -> std::vector<DnsReply> {
            return {{dns_reply(q, 2)}};
        });
        const auto report = h.run("m", server.udp_address(), 2);
        CHECK(report.success == c.success);
        CHECK(metric_value(*report.registry, "probe_dns_answer_rrs") == 0);
        CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 1);
        server.close();
        REQUIRE(h.close() == 0);
    }
}

TEST_CASE("dns runtime configuration errors fail the probe", "[integration][dns]") {
    test::ProbeHarness h;
    h.load(
        "modules:\n  bad_transport:\n    prober: dns\n    dns:\n      query_name: a.test\n"
        "      transport_protocol: sctp\n"
        "  dot_udp:\n    prober: dns\n    dns:\n      query_name: a.test\n"
        "      dns_over_tls: true\n"
        "  bad_regex:\n    prober: dns\n    dns:\n      query_name: example.com\n"
        "      preferred_ip_protocol: ip4\n"
        "      validate_answer_rrs:\n        fail_if_matches_regexp: ['(']\n");
    test::DnsTestServer server(h.loop(), recursive);
    auto r1 = h.run("bad_transport", server.udp_address(), 2);
    CHECK_FALSE(r1.success);
    CHECK_FALSE(metric_value(*r1.registry, "probe_ip_protocol").has_value());
    CHECK(metric_value(*r1.registry, "probe_dns_query_succeeded") == 0);
    auto r2 = h.run("dot_udp", server.udp_address(), 2);
    CHECK_FALSE(r2.success);
    CHECK(metric_value(*r2.registry, "probe_ip_protocol") == 4);
    auto r3 = h.run("bad_regex", server.udp_address(), 2);
    CHECK_FALSE(r3.success);
    CHECK(metric_value(*r3.registry, "probe_dns_query_succeeded") == 1);
    server.close();
    REQUIRE(h.close() == 0);
}

TEST_CASE("dns ignores replies with another id and waits for the right one", "[integration][dns]") {
    const std::string protocol = GENERATE(as<std::string>{}, "udp", "tcp");
    test::ProbeHarness h;
    h.load(module_yaml(protocol, ""));
    test::DnsTestServer server(h.loop(), [](std::string_view q) -> std::vector<DnsReply> {
        auto good = recursive(q)[0].bytes;
        const auto wrong = static_cast<std::uint16_t>(test::dns_query_id(q) + 1);
        return {{test::with_id(dns_reply(q, 2), wrong)}, {good}};
    });
    const auto report =
        h.run("m", protocol == "udp" ? server.udp_address() : server.tcp_address(), 2);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_dns_answer_rrs") == 2);
    server.close();
    REQUIRE(h.close() == 0);
}

TEST_CASE("dns ignores a UDP reply from another address", "[integration][dns]") {
    test::ProbeHarness h;
    h.load(module_yaml("udp", ""));
    test::DnsTestServer server(h.loop(), [](std::string_view q) -> std::vector<DnsReply> {
        return {{dns_reply(q, 2), true}, {recursive(q)[0].bytes}};
    });
    const auto report = h.run("m", server.udp_address(), 2);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_dns_answer_rrs") == 2);
    server.close();
    REQUIRE(h.close() == 0);
}

TEST_CASE("dns against a server that never answers fails at the deadline", "[integration][dns]") {
    const std::string protocol = GENERATE(as<std::string>{}, "udp", "tcp");
    test::ProbeHarness h;
    h.load(module_yaml(protocol, ""));
    test::DnsTestServer server(h.loop(), [](std::string_view) { return std::vector<DnsReply>{}; });
    const auto report =
        h.run("m", protocol == "udp" ? server.udp_address() : server.tcp_address(), 0.3);
    CHECK_FALSE(report.success);
    CHECK(server.queries() == 1);
    CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 0);
    const auto request =
        metric_value(*report.registry, "probe_dns_duration_seconds", {{"phase", "request"}});
    REQUIRE(request.has_value());
    CHECK(*request > 0.1);
    server.close();
    REQUIRE(h.close() == 0);
}

TEST_CASE("dns session destroyed mid-exchange is clean", "[integration][dns]") {
    const std::string protocol = GENERATE(as<std::string>{}, "udp", "tcp");
    test::ProbeHarness h;
    h.load(module_yaml(protocol, ""));
    test::DnsTestServer server(h.loop(), [](std::string_view) { return std::vector<DnsReply>{}; });
    std::optional<app::ProbeReport> report;
    auto run =
        h.start("m", protocol == "udp" ? server.udp_address() : server.tcp_address(), 5, &report);
    REQUIRE(h.fixture().run_until([&] { return server.queries() > 0; }));
    run.reset();
    CHECK_FALSE(report.has_value());
    server.close();
    REQUIRE(h.close() == 0);
}

TEST_CASE("dns over TLS against a loopback DoT server", "[integration][dns]") {
    const auto ca = test::make_ca("DoT Test CA");
    const auto leaf = test::make_signed(test::localhost_spec(), ca);
    auto server_ctx = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
    REQUIRE(server_ctx.has_value());
    test::TempFile ca_file(ca.cert_pem);
    test::ProbeHarness h;
    h.load(
        "modules:\n  dot:\n    prober: dns\n    dns:\n      query_name: example.com\n"
        "      preferred_ip_protocol: ip4\n      transport_protocol: tcp\n"
        "      dns_over_tls: true\n      tls_config:\n        ca_file: " +
        ca_file.path() +
        "\n        server_name: localhost\n"
        "  dot_untrusted:\n    prober: dns\n    dns:\n      query_name: example.com\n"
        "      preferred_ip_protocol: ip4\n      transport_protocol: tcp\n"
        "      dns_over_tls: true\n");
    test::DnsTestServer server(h.loop(), recursive, *server_ctx);
    const auto ok = h.run("dot", server.tcp_address(), 2);
    CHECK(ok.success);
    CHECK(metric_value(*ok.registry, "probe_dns_answer_rrs") == 2);
    const auto bad = h.run("dot_untrusted", server.tcp_address(), 2);
    CHECK_FALSE(bad.success);
    CHECK(metric_value(*bad.registry, "probe_dns_query_succeeded") == 0);
    server.close();
    REQUIRE(h.close() == 0);
}

}  // namespace sonde

namespace sonde {
namespace {

// Crafted replies a hostile or broken server might send: the probe fails with a reason (or, for
// the well-formed but empty or truncated ones, reports what it got), and never hangs or crashes.
std::string header_of(std::string_view query, std::uint16_t flags, std::uint16_t qd,
                      std::uint16_t an) {
    std::string h(query.substr(0, 2));  // the query's id
    h += static_cast<char>(flags >> 8);
    h += static_cast<char>(flags & 0xff);
    for (const std::uint16_t count : {qd, an, std::uint16_t{0}, std::uint16_t{0}}) {
        h += static_cast<char>(count >> 8);
        h += static_cast<char>(count & 0xff);
    }
    return h;
}

TEST_CASE("dns crafted replies fail the probe with a reason", "[integration][dns]") {
    struct Crafted {
        const char* what;
        std::function<std::string(std::string_view)> reply;
        bool success;
        const char* reason;  // expected in the failure detail or log ("" when it succeeds)
    };
    const std::vector<Crafted> cases = {
        {"compression loop",
         [](std::string_view q) {
             // One answer whose owner name is a pointer to itself (offset 12).
             return header_of(q, 0x8180, 0, 1) + std::string("\xc0\x0c", 2) +
                    std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", 14);
         },
         false, ""},
        {"record length past the end",
         [](std::string_view q) {
             return header_of(q, 0x8180, 0, 1) + std::string("\x00", 1) +
                    std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x40\x7f\x00", 12);
         },
         false, ""},
        {"header cut short", [](std::string_view q) { return std::string(q.substr(0, 7)); }, false,
         ""},
        {"empty answer", [](std::string_view q) { return dns_reply(q, 0); }, true, ""},
        {"truncated (TC bit) with no records",
         [](std::string_view q) {
             auto r = dns_reply(q, 0);
             r[2] = static_cast<char>(r[2] | 0x02);
             return r;
         },
         true, ""},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        test::ProbeHarness h;
        h.load(module_yaml("udp", ""));
        test::DnsTestServer server(
            h.loop(), [&](std::string_view q) -> std::vector<DnsReply> { return {{c.reply(q)}}; });
        const auto report = h.run("m", server.udp_address(), 2);
        CHECK(report.success == c.success);
        if (!c.success) {
            // A malformed reply is a protocol failure found at once, not a timeout.
            CHECK(report.failure != modules::FailureKind::Timeout);
            CHECK_FALSE(report.detail.empty());
        } else {
            CHECK(metric_value(*report.registry, "probe_dns_answer_rrs") == 0);
        }
        server.close();
        REQUIRE(h.close() == 0);
    }
}

}  // namespace
}  // namespace sonde

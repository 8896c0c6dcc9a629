// probe_policy: — the section's keys and errors (exact message and position), CIDR and host
// pattern matching, the order of the rules, and URL password redaction.

#include "config/probe_policy.hpp"

#include <string>

#include <arpa/inet.h>
#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "config/redact.hpp"
#include "tests/support/config_fixtures.hpp"

namespace {

using sonde::config::DenyReason;
using sonde::config::ProbePolicy;

std::shared_ptr<const ProbePolicy> policy_of(const std::string& section) {
    auto loaded = sonde::config::load_config_text(
        std::string(sonde::test::kTcpModuleOnly) + section, "t.yml");
    INFO((loaded.has_value() ? std::string() : loaded.error()));
    REQUIRE(loaded.has_value());
    return loaded->config->probe_policy;
}

// Raw bytes of an IP literal, as the dial guard passes them.
std::string bytes(const std::string& ip) {
    unsigned char buffer[16] = {};
    if (inet_pton(AF_INET, ip.c_str(), buffer) == 1) {
        return std::string(reinterpret_cast<const char*>(buffer), 4);
    }
    REQUIRE(inet_pton(AF_INET6, ip.c_str(), buffer) == 1);
    return std::string(reinterpret_cast<const char*>(buffer), 16);
}

std::optional<DenyReason> address_verdict(const ProbePolicy& policy, const std::string& ip) {
    const auto denied = policy.check_address(ip, bytes(ip));
    return denied ? std::optional<DenyReason>(denied->reason) : std::nullopt;
}

std::optional<DenyReason> host_verdict(const ProbePolicy& policy, const std::string& host) {
    const auto denied = policy.check_host(host);
    return denied ? std::optional<DenyReason>(denied->reason) : std::nullopt;
}

}  // namespace

TEST_CASE("probe_policy: keys, defaults and /config", "[unit][config][policy]") {
    SECTION("absent or null: no policy") {
        CHECK(policy_of("") == nullptr);
        CHECK(policy_of("probe_policy:\n") == nullptr);
    }
    SECTION("an empty mapping: a policy with no rules that allows everything") {
        const auto policy = policy_of("probe_policy: {}\n");
        REQUIRE(policy != nullptr);
        CHECK(policy->scheduled);
        CHECK_FALSE(host_verdict(*policy, "anything.example"));
        CHECK_FALSE(address_verdict(*policy, "169.254.169.254"));
    }
    SECTION("every key, rendered back on /config") {
        const std::string text = std::string(sonde::test::kTcpModuleOnly) +
                                 "probe_policy:\n"
                                 "  allow_cidrs: [10.0.0.0/8, 'fd00::/8']\n"
                                 "  deny_cidrs: [10.0.0.1]\n"
                                 "  allow_hosts: ['*.Example.ORG.', example.net]\n"
                                 "  deny_hosts: [admin.example.org]\n"
                                 "  scheduled: false\n";
        auto loaded = sonde::config::load_config_text(text, "t.yml");
        REQUIRE(loaded.has_value());
        const auto& policy = *loaded->config->probe_policy;
        CHECK(policy.allow_cidrs.size() == 2);
        CHECK(policy.deny_cidrs.at(0).prefix == 32);
        CHECK(policy.allow_hosts.at(0).text == "*.example.org");
        CHECK_FALSE(policy.scheduled);
        const std::string yaml = sonde::config::render_config_yaml(*loaded->config);
        CHECK(yaml.find("probe_policy:\n    allow_cidrs: [10.0.0.0/8, fd00::/8]\n    deny_cidrs: "
                        "[10.0.0.1]\n    allow_hosts: [\"*.example.org\", example.net]\n    "
                        "deny_hosts: [admin.example.org]\n    scheduled: false\n") !=
              std::string::npos);
        // What /config shows loads again, to the same policy.
        auto again = sonde::config::load_config_text(yaml, "again.yml");
        INFO(yaml);
        REQUIRE(again.has_value());
        CHECK(again->config->probe_policy->allow_hosts.at(0).text == "*.example.org");
        CHECK(again->config->probe_policy->deny_cidrs.at(0).text == "10.0.0.1");
    }
}

TEST_CASE("probe_policy: bad sections name the file, line and column", "[unit][config][policy]") {
    const std::string m = sonde::test::kTcpModuleOnly;
    const auto [section, expected] = GENERATE(table<std::string, std::string>({
        {"probe_policy:\n  deny_cidrs: [10.0.0.0/33]\n",
         "t.yml:5:16: probe_policy.deny_cidrs: invalid CIDR \"10.0.0.0/33\""},
        {"probe_policy:\n  allow_cidrs:\n    - 10.0.0.0/8\n    - example.org\n",
         "t.yml:7:7: probe_policy.allow_cidrs: invalid CIDR \"example.org\""},
        {"probe_policy:\n  allow_cidrs: [10.0.0.0/]\n",
         "t.yml:5:17: probe_policy.allow_cidrs: invalid CIDR \"10.0.0.0/\""},
        {"probe_policy:\n  deny_hosts: ['a.*.org']\n",
         "t.yml:5:16: probe_policy.deny_hosts: invalid host pattern \"a.*.org\" (a name, \"*.\" "
         "followed by a name, or \"*\")"},
        {"probe_policy:\n  allow_hosts: ['']\n",
         "t.yml:5:17: probe_policy.allow_hosts: invalid host pattern \"\" (a name, \"*.\" "
         "followed by a name, or \"*\")"},
        {"probe_policy:\n  allow_host: [a]\n",
         "t.yml:5:3: unknown field \"allow_host\" in probe_policy"},
        {"probe_policy:\n  scheduled: maybe\n", "t.yml:5:14: cannot unmarshal \"maybe\" into bool"},
        {"probe_policy: [10.0.0.0/8]\n",
         "t.yml:4:15: cannot unmarshal a sequence into probe_policy"},
    }));
    INFO(section);
    const std::string error = sonde::test::config_error_of(m + section);
    CHECK(error.substr(0, expected.size()) == expected);
}

TEST_CASE("probe_policy: CIDRs", "[unit][config][policy]") {
    using sonde::config::parse_cidr;
    SECTION("prefixes, host bits and families") {
        const auto net8 = parse_cidr("10.1.2.3/8");  // host bits cleared, as Go's ParseCIDR
        REQUIRE(net8.has_value());
        CHECK(net8->contains(bytes("10.200.0.1")));
        CHECK_FALSE(net8->contains(bytes("11.0.0.1")));
        CHECK_FALSE(net8->contains(bytes("::ffff:10.0.0.1")));  // a family mismatch never matches
        const auto odd = parse_cidr("192.168.0.0/23");
        REQUIRE(odd.has_value());
        CHECK(odd->contains(bytes("192.168.1.255")));
        CHECK_FALSE(odd->contains(bytes("192.168.2.0")));
        const auto all = parse_cidr("0.0.0.0/0");
        REQUIRE(all.has_value());
        CHECK(all->contains(bytes("255.255.255.255")));
        const auto v6 = parse_cidr("fd00::/8");
        REQUIRE(v6.has_value());
        CHECK(v6->contains(bytes("fdab::1")));
        CHECK_FALSE(v6->contains(bytes("fe80::1")));
        const auto single = parse_cidr("::1");
        REQUIRE(single.has_value());
        CHECK(single->prefix == 128);
        CHECK(single->contains(bytes("::1")));
    }
    SECTION("invalid") {
        for (const char* text : {"", "10.0.0.0/-1", "10.0.0.0/8/8", "::/129", "10.0.0.0/8 ",
                                 "[::1]/128", "localhost"}) {
            INFO(text);
            CHECK_FALSE(parse_cidr(text).has_value());
        }
    }
}

TEST_CASE("probe_policy: the rules and their order", "[unit][config][policy]") {
    SECTION("deny wins over allow; no allow list allows the rest") {
        const auto policy =
            policy_of("probe_policy:\n  deny_cidrs: [10.0.0.1/32]\n  allow_cidrs: [10.0.0.0/8]\n");
        CHECK(address_verdict(*policy, "10.0.0.1") == DenyReason::DeniedCidr);
        CHECK_FALSE(address_verdict(*policy, "10.0.0.2"));
        CHECK(address_verdict(*policy, "192.0.2.1") == DenyReason::CidrNotAllowed);
    }
    SECTION("mapped and unspecified addresses cannot point around the rules") {
        const auto policy = policy_of("probe_policy:\n  deny_cidrs: [127.0.0.0/8, '::1/128']\n");
        CHECK(address_verdict(*policy, "::ffff:127.0.0.1") == DenyReason::DeniedCidr);
        CHECK(address_verdict(*policy, "0.0.0.0") == DenyReason::DeniedCidr);
        CHECK(address_verdict(*policy, "::") == DenyReason::DeniedCidr);
        CHECK(address_verdict(*policy, "::ffff:0.0.0.0") == DenyReason::DeniedCidr);
        CHECK_FALSE(address_verdict(*policy, "::2"));
        const auto allow = policy_of("probe_policy:\n  allow_cidrs: [10.0.0.0/8]\n");
        CHECK_FALSE(address_verdict(*allow, "::ffff:10.1.1.1"));
    }
    SECTION("host patterns") {
        const auto policy = policy_of(
            "probe_policy:\n  allow_hosts: ['*.example.org', example.net]\n"
            "  deny_hosts: [admin.example.org]\n");
        CHECK_FALSE(host_verdict(*policy, "www.example.org"));
        CHECK_FALSE(host_verdict(*policy, "a.b.EXAMPLE.org."));
        CHECK_FALSE(host_verdict(*policy, "example.net"));
        CHECK(host_verdict(*policy, "example.org") == DenyReason::HostNotAllowed);
        CHECK(host_verdict(*policy, "www.example.net") == DenyReason::HostNotAllowed);
        CHECK(host_verdict(*policy, "badexample.org") == DenyReason::HostNotAllowed);
        CHECK(host_verdict(*policy, "Admin.Example.Org") == DenyReason::DeniedHost);
        // An IP literal is not a name: with allow_hosts alone it is not allowed.
        CHECK(host_verdict(*policy, "192.0.2.1") == DenyReason::HostNotAllowed);
        const auto star = policy_of("probe_policy:\n  allow_hosts: ['*']\n");
        CHECK_FALSE(host_verdict(*star, "anything"));
        CHECK_FALSE(host_verdict(*star, "::1"));
    }
    SECTION("with allow_cidrs too, a literal is judged by its address alone") {
        const auto policy = policy_of(
            "probe_policy:\n  allow_hosts: ['*.example.org']\n  allow_cidrs: [10.0.0.0/8]\n");
        CHECK_FALSE(host_verdict(*policy, "10.1.2.3"));
        CHECK_FALSE(address_verdict(*policy, "10.1.2.3"));
        CHECK_FALSE(host_verdict(*policy, "192.0.2.1"));
        CHECK(address_verdict(*policy, "192.0.2.1") == DenyReason::CidrNotAllowed);
        CHECK(host_verdict(*policy, "example.com") == DenyReason::HostNotAllowed);
    }
    SECTION("messages name the host, the address and the rule") {
        const auto policy =
            policy_of("probe_policy:\n  deny_cidrs: [127.0.0.0/8]\n  deny_hosts: ['*.internal']\n");
        CHECK(policy->check_address("localhost", bytes("127.0.0.1"))->message ==
              "address 127.0.0.1 of \"localhost\" is in deny_cidrs 127.0.0.0/8");
        CHECK(policy->check_address("127.0.0.1", bytes("127.0.0.1"))->message ==
              "address 127.0.0.1 is in deny_cidrs 127.0.0.0/8");
        CHECK(policy->check_host("db.internal")->message ==
              "host \"db.internal\" matches deny_hosts pattern \"*.internal\"");
        CHECK(std::string(sonde::config::deny_reason_label(DenyReason::CidrNotAllowed)) ==
              "cidr_not_allowed");
    }
}

TEST_CASE("redact_url hides a URL's password as Go's URL.Redacted", "[unit][config][secrets]") {
    using sonde::config::redact_url;
    CHECK(redact_url("http://user:s3cret@proxy:3128") == "http://user:xxxxx@proxy:3128");
    CHECK(redact_url("http://user:s3cret@proxy:3128/p?q=a@b") ==
          "http://user:xxxxx@proxy:3128/p?q=a@b");
    CHECK(redact_url("http://us:er:p@ss@proxy") == "http://us:xxxxx@proxy");
    CHECK(redact_url("http://user@proxy:3128") == "http://user@proxy:3128");
    CHECK(redact_url("http://proxy:3128") == "http://proxy:3128");
    CHECK(redact_url("user:pw@proxy:bad port") == "user:xxxxx@proxy:bad port");
    CHECK(sonde::config::redact_url_in("parse \"http://u:pw@h:x\": invalid port \":x\" after host",
                                       "http://u:pw@h:x") ==
          "parse \"http://u:xxxxx@h:x\": invalid port \":x\" after host");

    SECTION("/config shows proxy URLs redacted") {
        auto loaded = sonde::config::load_config_text(
            "modules:\n  h:\n    prober: http\n    http:\n      proxy_url: "
            "http://user:proxy-canary@127.0.0.1:3128\n      oauth2:\n        client_id: c\n"
            "        token_url: http://127.0.0.1/t\n        proxy_url: "
            "http://u:oauth-proxy-canary@127.0.0.1:3128\n",
            "t.yml");
        REQUIRE(loaded.has_value());
        const std::string yaml = sonde::config::render_config_yaml(*loaded->config);
        CHECK(yaml.find("canary") == std::string::npos);
        CHECK(yaml.find("http://user:xxxxx@127.0.0.1:3128") != std::string::npos);
    }
}

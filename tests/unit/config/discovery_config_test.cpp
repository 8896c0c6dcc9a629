// discovery: kubernetes: — defaults, every key, and bad YAML -> the exact message and position.

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "tests/support/config_fixtures.hpp"

namespace {

using sonde::config::KubernetesDiscoveryConfig;

constexpr const char* kDiscoveryModules =
    "modules:\n  http_2xx:\n    prober: http\n  tcp:\n    prober: tcp\n";

std::optional<KubernetesDiscoveryConfig> kube_of(const std::string& text) {
    auto loaded = sonde::config::load_config_text(text, "t.yml");
    INFO((loaded.has_value() ? std::string() : loaded.error()));
    REQUIRE(loaded.has_value());
    return loaded->config->discovery.kubernetes;
}

}  // namespace

TEST_CASE("discovery: kubernetes: defaults and keys", "[unit][config][kube]") {
    SECTION("absent section: no discovery") {
        CHECK_FALSE(kube_of(kDiscoveryModules).has_value());
    }
    SECTION("a null kubernetes: turns nothing on, as yaml.v3 leaves the pointer nil") {
        CHECK_FALSE(
            kube_of(std::string(kDiscoveryModules) + "discovery:\n  kubernetes:\n").has_value());
    }
    SECTION("an empty mapping: every default") {
        const auto kube =
            kube_of(std::string(kDiscoveryModules) + "discovery:\n  kubernetes: {}\n");
        REQUIRE(kube.has_value());
        CHECK(kube->kubeconfig.empty());
        CHECK(kube->namespaces.empty());
        CHECK(kube->label_selector.empty());
        CHECK(kube->services);
        CHECK(kube->ingresses);
        CHECK_FALSE(kube->probe_all);
        CHECK(kube->interval == std::chrono::seconds(30));
        CHECK(kube->service_module == "http_2xx");
        CHECK(kube->ingress_module == "http_2xx");
    }
    SECTION("every key; discovery may come before modules") {
        const auto kube = kube_of(
            "discovery:\n  kubernetes:\n    kubeconfig: /k/config\n    namespaces: [a, b, a]\n"
            "    label_selector: 'app in (web,api)'\n    roles: [service]\n"
            "    probe_all: true\n    interval: 1m30s\n    service_module: tcp\n"
            "    ingress_module: nosuch\n" +
            std::string(kDiscoveryModules));
        REQUIRE(kube.has_value());
        CHECK(kube->kubeconfig == "/k/config");
        CHECK(kube->namespaces == std::vector<std::string>{"a", "b"});
        CHECK(kube->label_selector == "app in (web,api)");
        CHECK(kube->services);
        // Not a role: its module is not checked.
        CHECK_FALSE(kube->ingresses);
        CHECK(kube->probe_all);
        CHECK(kube->interval == std::chrono::seconds(90));
        CHECK(kube->service_module == "tcp");
    }
    SECTION("roles: ingress only") {
        const auto kube = kube_of(std::string(kDiscoveryModules) +
                                  "discovery:\n  kubernetes:\n    roles: [ingress]\n");
        REQUIRE(kube.has_value());
        CHECK_FALSE(kube->services);
        CHECK(kube->ingresses);
    }
}

TEST_CASE("bad discovery config gives the exact message and position", "[unit][config][kube]") {
    const auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"discovery:\n  kubernetes:\n    namespace: [a]\n",
         "t.yml:3:5: unknown field \"namespace\" in kubernetes: field namespace not found"},
        {"discovery:\n  consul: {}\n",
         "t.yml:2:3: unknown field \"consul\" in discovery: field consul not found"},
        {"discovery: [kubernetes]\n",
         "t.yml:1:12: cannot unmarshal a sequence into discovery (expected a mapping)"},
        {"discovery:\n  kubernetes: yes\n",
         "t.yml:2:15: cannot unmarshal a scalar into kubernetes (expected a mapping)"},
        {"discovery:\n  kubernetes:\n    roles: [service, pod]\n",
         "t.yml:3:22: unknown role \"pod\" (valid roles: service, ingress)"},
        {"discovery:\n  kubernetes:\n    roles: []\n",
         "t.yml:3:12: roles must name at least one of service, ingress"},
        {"discovery:\n  kubernetes:\n    roles: service\n",
         "t.yml:3:12: cannot unmarshal a scalar into roles (expected a sequence)"},
        {"discovery:\n  kubernetes:\n    namespaces: [a, '']\n",
         "t.yml:3:21: namespaces: a namespace name cannot be empty"},
        {"discovery:\n  kubernetes:\n    probe_all: maybe\n",
         "t.yml:3:16: cannot unmarshal \"maybe\" into bool"},
        {"discovery:\n  kubernetes:\n    interval: 30\n",
         "t.yml:3:15: cannot unmarshal \"30\" into duration: a duration needs a unit, e.g. 5s"},
        {"discovery:\n  kubernetes:\n    interval: 0s\n",
         "t.yml:3:15: discovery.kubernetes.interval must be greater than 0"},
        {"discovery:\n  kubernetes:\n    interval: 2d\n",
         "t.yml:3:15: time: unknown unit \"d\" in duration \"2d\""},
        {"discovery:\n  kubernetes:\n    label_selector: [a]\n",
         "t.yml:3:21: cannot unmarshal a sequence into string"},
        // Module checks run after the whole file, and point at the key.
        {"discovery:\n  kubernetes:\n    service_module: http_3xx\n" +
             std::string(kDiscoveryModules),
         "t.yml:3:5: discovery.kubernetes.service_module \"http_3xx\" is not a module of the "
         "config"},
        {std::string(kDiscoveryModules) + "discovery:\n  kubernetes:\n    ingress_module: icmp\n",
         "t.yml:8:5: discovery.kubernetes.ingress_module \"icmp\" is not a module of the config"},
        // A default that names no module points at the block.
        {"modules:\n  tcp:\n    prober: tcp\ndiscovery:\n  kubernetes:\n    roles: [ingress]\n",
         "t.yml:6:5: discovery.kubernetes.ingress_module \"http_2xx\" is not a module of the "
         "config"},
        {"discovery:\n  kubernetes: {}\n  kubernetes: {}\n",
         "t.yml:3:3: mapping key \"kubernetes\" already defined at line 2"},
    }));
    CAPTURE(text);
    CHECK(sonde::test::config_error_of(text) == expected);
}

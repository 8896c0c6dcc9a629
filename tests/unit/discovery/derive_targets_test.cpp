// Target derivation: Prometheus' kubernetes_sd roles service and ingress (reference §4), the
// prometheus.io/probe opt-in and sonde.io/* overrides, table-driven.

#include "discovery/kubernetes/derive_targets.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;
using sonde::discovery::Target;
using sonde::discovery::TargetSet;
using namespace sonde::discovery::kubernetes;

json service(json annotations, json ports) {
    json object = {{"metadata", {{"name", "web"}, {"namespace", "shop"}, {"uid", "u1"}}},
                   {"spec", {{"type", "ClusterIP"}, {"clusterIP", "10.96.14.7"}}}};
    if (!annotations.is_null()) {
        object["metadata"]["annotations"] = std::move(annotations);
    }
    if (!ports.is_null()) {
        object["spec"]["ports"] = std::move(ports);
    }
    return object;
}

const json kTwoPorts = json::array({
    {{"name", "http"}, {"protocol", "TCP"}, {"port", 80}, {"targetPort", 8080}},
    {{"name", "metrics"}, {"protocol", "TCP"}, {"port", 9102}, {"targetPort", "metrics"}},
});

// The reference's worked example (§3.2, §4.4).
json storefront_object();

json storefront(json annotations) {
    json object = storefront_object();
    object["metadata"]["annotations"] = std::move(annotations);
    return object;
}

json storefront_object() {
    return json::parse(R"({
      "kind": "Ingress", "apiVersion": "networking.k8s.io/v1",
      "metadata": {"name": "storefront", "namespace": "shop", "resourceVersion": "48220"},
      "spec": {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["shop.example.com", "*.api.example.com"], "secretName": "shop-tls"}],
        "defaultBackend": {"service": {"name": "default", "port": {"number": 80}}},
        "rules": [
          {"host": "shop.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "web", "port": {"number": 80}}}},
            {"path": "/checkout", "pathType": "Exact",
             "backend": {"service": {"name": "checkout", "port": {"name": "http"}}}}]}},
          {"host": "v2.api.example.com", "http": {"paths": [
            {"pathType": "ImplementationSpecific",
             "backend": {"service": {"name": "api", "port": {"number": 8080}}}}]}},
          {"host": "status.example.com", "http": {"paths": [
            {"path": "/healthz", "pathType": "Prefix",
             "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
          {"http": {"paths": [{"path": "/nohost", "pathType": "Prefix",
             "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
          {"host": "bare.example.com"}
        ]
      }
    })");
}

std::vector<std::string> addresses(const TargetSet& targets) {
    std::vector<std::string> out;
    for (const Target& t : targets) {
        out.push_back(t.target);
    }
    return out;
}

const json kProbe = {{"prometheus.io/probe", "true"}};

json with_probe(json extra) {
    json out = kProbe;
    out.update(extra);
    return out;
}

}  // namespace

TEST_CASE("service targets: one per port, name.namespace.svc:port", "[unit][kube]") {
    DeriveOptions options;
    auto targets = service_targets(service(kProbe, kTwoPorts), options);
    REQUIRE(targets);
    REQUIRE(targets->size() == 2);
    const Target& first = (*targets)[0];
    CHECK(first.target == "web.shop.svc:80");
    CHECK(first.module == "http_2xx");
    CHECK(first.interval == std::chrono::seconds(30));
    CHECK(first.labels ==
          sonde::discovery::Labels{{"namespace", "shop"}, {"kind", "Service"}, {"name", "web"}});
    CHECK((*targets)[1].target == "web.shop.svc:9102");
}

TEST_CASE("opt-in by prometheus.io/probe, exactly \"true\"", "[unit][kube]") {
    const auto [annotations, probe_all, count] = GENERATE(table<json, bool, std::size_t>({
        {json(), false, 0},
        {json::object(), false, 0},
        {{{"prometheus.io/probe", "true"}}, false, 2},
        {{{"prometheus.io/probe", "True"}}, false, 0},
        {{{"prometheus.io/probe", "yes"}}, false, 0},
        {{{"prometheus.io/probe", " true"}}, false, 0},
        {{{"prometheus.io/probe", "false"}}, false, 0},
        {{{"prometheus_io_probe", "true"}}, false, 0},
        // probe_all: everything, unless explicitly "false".
        {json(), true, 2},
        {{{"prometheus.io/probe", "no"}}, true, 2},
        {{{"prometheus.io/probe", "false"}}, true, 0},
    }));
    DeriveOptions options;
    options.probe_all = probe_all;
    CAPTURE(annotations, probe_all);
    auto targets = service_targets(service(annotations, kTwoPorts), options);
    REQUIRE(targets);
    CHECK(targets->size() == count);
}

TEST_CASE("service edge cases: no ports, ExternalName, UDP", "[unit][kube]") {
    DeriveOptions options;
    SECTION("no ports: no targets") {
        auto targets = service_targets(service(kProbe, json()), options);
        REQUIRE(targets);
        CHECK(targets->empty());
    }
    SECTION("ExternalName without ports: no targets") {
        json svc = service(kProbe, json());
        svc["spec"] = {{"type", "ExternalName"}, {"externalName", "db.example.org"}};
        auto targets = service_targets(svc, options);
        REQUIRE(targets);
        CHECK(targets->empty());
    }
    SECTION("every port, UDP included, as Prometheus") {
        auto targets = service_targets(
            service(kProbe, json::array({{{"name", "dns"}, {"protocol", "UDP"}, {"port", 53}}})),
            options);
        REQUIRE(targets);
        CHECK(addresses(*targets) == std::vector<std::string>{"web.shop.svc:53"});
    }
    SECTION("a port entry without a number is malformed") {
        auto targets = service_targets(service(kProbe, json::array({{{"name", "x"}}})), options);
        REQUIRE_FALSE(targets);
        CHECK(targets.error() == "spec.ports[] entry without an integer port");
    }
    SECTION("no metadata") {
        auto targets = service_targets(json::object(), options);
        REQUIRE_FALSE(targets);
        CHECK(targets.error() == "the object has no metadata");
    }
}

TEST_CASE("service overrides by sonde.io annotations", "[unit][kube]") {
    const auto [annotations, expected] = GENERATE(table<json, std::vector<std::string>>({
        {{{"sonde.io/port", "http"}}, {"web.shop.svc:80"}},
        {{{"sonde.io/port", "9102"}}, {"web.shop.svc:9102"}},
        {{{"sonde.io/port", "metrics, 80"}}, {"web.shop.svc:80", "web.shop.svc:9102"}},
        {{{"sonde.io/path", "/healthz"}},
         {"http://web.shop.svc:80/healthz", "http://web.shop.svc:9102/healthz"}},
        {{{"sonde.io/scheme", "https"}, {"sonde.io/port", "http"}}, {"https://web.shop.svc:80"}},
        {{{"sonde.io/scheme", "https"}, {"sonde.io/port", "80"}, {"sonde.io/path", "/a?b=c"}},
         {"https://web.shop.svc:80/a?b=c"}},
    }));
    DeriveOptions options;
    CAPTURE(annotations);
    auto targets = service_targets(service(with_probe(annotations), kTwoPorts), options);
    REQUIRE(targets);
    CHECK(addresses(*targets) == expected);
}

TEST_CASE("module and interval overrides", "[unit][kube]") {
    DeriveOptions options;
    options.modules = {"http_2xx", "tcp_connect"};
    options.interval = std::chrono::seconds(15);
    options.ingress_module = "tcp_connect";
    auto targets = service_targets(
        service(with_probe({{"sonde.io/module", "tcp_connect"}, {"sonde.io/interval", "1m30s"}}),
                kTwoPorts),
        options);
    REQUIRE(targets);
    CHECK((*targets)[0].module == "tcp_connect");
    CHECK((*targets)[0].interval == std::chrono::seconds(90));
    auto defaults = service_targets(service(kProbe, kTwoPorts), options);
    REQUIRE(defaults);
    CHECK((*defaults)[0].module == "http_2xx");
    CHECK((*defaults)[0].interval == std::chrono::seconds(15));
    auto ingress = ingress_targets(storefront(kProbe), options);
    REQUIRE(ingress);
    CHECK((*ingress)[0].module == "tcp_connect");
}

TEST_CASE("invalid annotation values skip the object with a reason", "[unit][kube]") {
    const auto [annotations, reason] = GENERATE(table<json, std::string>({
        {{{"sonde.io/port", "grpc"}},
         "annotation sonde.io/port \"grpc\": no port of the Service is named or numbered "
         "\"grpc\""},
        {{{"sonde.io/port", "81"}},
         "annotation sonde.io/port \"81\": no port of the Service is named or numbered \"81\""},
        {{{"sonde.io/port", "http,"}},
         "annotation sonde.io/port \"http,\": empty port name or number"},
        {{{"sonde.io/port", "99999999999999999999"}},
         "annotation sonde.io/port \"99999999999999999999\": no port of the Service is named or "
         "numbered \"99999999999999999999\""},
        {{{"sonde.io/scheme", "ftp"}}, "annotation sonde.io/scheme \"ftp\": must be http or https"},
        {{{"sonde.io/scheme", "HTTPS"}},
         "annotation sonde.io/scheme \"HTTPS\": must be http or https"},
        {{{"sonde.io/path", "healthz"}},
         "annotation sonde.io/path \"healthz\": must start with '/'"},
        {{{"sonde.io/path", "/a b"}},
         "annotation sonde.io/path \"/a b\": must not hold spaces, control characters or '#'"},
        {{{"sonde.io/interval", "30"}},
         "annotation sonde.io/interval \"30\": not a valid duration string: \"30\""},
        {{{"sonde.io/interval", "1.5s"}},
         "annotation sonde.io/interval \"1.5s\": not a valid duration string: \"1.5s\""},
        {{{"sonde.io/interval", "0"}},
         "annotation sonde.io/interval \"0\": must be greater than 0"},
        {{{"sonde.io/interval", ""}}, "annotation sonde.io/interval \"\": empty duration string"},
        {{{"sonde.io/module", "nosuch"}},
         "annotation sonde.io/module \"nosuch\": not a module of the config"},
        {{{"sonde.io/module", ""}}, "annotation sonde.io/module \"\": empty module name"},
    }));
    DeriveOptions options;
    options.modules = {"http_2xx"};
    CAPTURE(annotations);
    auto targets = service_targets(service(with_probe(annotations), kTwoPorts), options);
    REQUIRE_FALSE(targets);
    CHECK(targets.error() == reason);
}

TEST_CASE("annotations of objects that do not opt in are not judged", "[unit][kube]") {
    DeriveOptions options;
    auto targets = service_targets(service({{"sonde.io/port", "nosuch"}}, kTwoPorts), options);
    REQUIRE(targets);
    CHECK(targets->empty());
}

TEST_CASE("ingress targets: the reference's worked example", "[unit][kube]") {
    DeriveOptions options;
    auto targets = ingress_targets(storefront(kProbe), options);
    REQUIRE(targets);
    // Host-less rules are skipped; a rule without http gives "/"; an omitted path gives "/".
    CHECK(addresses(*targets) == std::vector<std::string>{
                                     "https://shop.example.com/",
                                     "https://shop.example.com/checkout",
                                     "https://v2.api.example.com/",
                                     "http://status.example.com/healthz",
                                     "http://bare.example.com/",
                                 });
    CHECK((*targets)[0].labels == sonde::discovery::Labels{{"namespace", "shop"},
                                                           {"kind", "Ingress"},
                                                           {"name", "storefront"}});
}

TEST_CASE("ingress overrides", "[unit][kube]") {
    DeriveOptions options;
    SECTION("scheme and path replace the derived ones; duplicates collapse") {
        auto targets = ingress_targets(
            storefront(with_probe({{"sonde.io/scheme", "http"}, {"sonde.io/path", "/ping"}})),
            options);
        REQUIRE(targets);
        CHECK(addresses(*targets) == std::vector<std::string>{
                                         "http://shop.example.com/ping",
                                         "http://v2.api.example.com/ping",
                                         "http://status.example.com/ping",
                                         "http://bare.example.com/ping",
                                     });
    }
    SECTION("sonde.io/port is for Services") {
        auto targets = ingress_targets(storefront(with_probe({{"sonde.io/port", "80"}})), options);
        REQUIRE_FALSE(targets);
        CHECK(targets.error() == "annotation sonde.io/port \"80\": applies to Services only");
    }
    SECTION("no rules, no targets") {
        json ingress = storefront(kProbe);
        ingress["spec"].erase("rules");
        auto targets = ingress_targets(ingress, options);
        REQUIRE(targets);
        CHECK(targets->empty());
    }
}

TEST_CASE("TLS host patterns as Prometheus matches them", "[unit][kube]") {
    const auto [pattern, host, match] = GENERATE(table<std::string, std::string, bool>({
        {"shop.example.com", "shop.example.com", true},
        {"*.example.com", "a.example.com", true},
        {"*.example.com", "example.com", false},
        {"*.example.com", "a.b.example.com", false},
        {"*.example.com", "a.example.org", false},
        {"a.*.com", "a.b.com", false},
        {"*", "localhost", true},
        {"*.example.com", "*.example.com", true},
        {"", "a.example.com", false},
    }));
    CAPTURE(pattern, host);
    CHECK(matches_hostname_pattern(pattern, host) == match);
}

TEST_CASE("an empty TLS hosts list does not make anything https", "[unit][kube]") {
    json ingress = storefront(kProbe);
    ingress["spec"]["tls"] = json::array({{{"secretName", "all"}}});
    auto targets = ingress_targets(ingress, DeriveOptions{});
    REQUIRE(targets);
    CHECK((*targets)[0].target == "http://shop.example.com/");
}

TEST_CASE("Prometheus durations", "[unit][kube]") {
    using std::chrono::milliseconds;
    const auto [text, expected] = GENERATE(table<std::string, std::int64_t>({
        {"0", 0},
        {"30s", 30000},
        {"1m30s", 90000},
        {"1h", 3600000},
        {"2d", 172800000},
        {"1w", 604800000},
        {"1y", 31536000000},
        {"500ms", 500},
        {"1s500ms", 1500},
        {"1h1m1s1ms", 3661001},
    }));
    CAPTURE(text);
    auto parsed = parse_prometheus_duration(text);
    REQUIRE(parsed);
    CHECK(parsed->count() == expected);
}

TEST_CASE("bad Prometheus durations", "[unit][kube]") {
    const auto [text, message] = GENERATE(table<std::string, std::string>({
        {"", "empty duration string"},
        {"30", "not a valid duration string: \"30\""},
        {"1s1m", "not a valid duration string: \"1s1m\""},
        {"1m1m", "not a valid duration string: \"1m1m\""},
        {"-1s", "not a valid duration string: \"-1s\""},
        {"1.5h", "not a valid duration string: \"1.5h\""},
        {"5x", "not a valid duration string: \"5x\""},
        {"s", "not a valid duration string: \"s\""},
        {"99999999999999999999s", "duration out of range"},
    }));
    CAPTURE(text);
    auto parsed = parse_prometheus_duration(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error() == message);
}

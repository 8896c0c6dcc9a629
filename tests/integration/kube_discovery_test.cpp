// KubernetesDiscovery against the fake Kubernetes API server (tests/support/fake_kube_api):
// list+watch, pagination, relist on 410 (both forms), the API server down, 500/429 with
// Retry-After, closed watches, bookmarks, token rotation, namespaces and selectors, and the
// discovery destroyed mid-list, mid-watch and mid-backoff.

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "discovery/kubernetes/kubernetes_discovery.hpp"
#include "tests/support/fake_kube_api.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using sonde::discovery::TargetSet;
using sonde::discovery::kubernetes::KubeClientConfig;
using sonde::discovery::kubernetes::KubernetesDiscovery;
using sonde::discovery::kubernetes::KubernetesDiscoveryOptions;
using sonde::discovery::kubernetes::KubernetesDiscoveryStatus;
using sonde::test::FakeKubeApi;
using sonde::test::KubeKind;

json discovery_service(const std::string& ns, const std::string& name,
                       json annotations = json::object(), json labels = json::object()) {
    if (annotations.is_object() && !annotations.contains("prometheus.io/probe")) {
        annotations["prometheus.io/probe"] = "true";
    }
    return json{{"metadata",
                 {{"namespace", ns},
                  {"name", name},
                  {"labels", std::move(labels)},
                  {"annotations", std::move(annotations)}}},
                {"spec",
                 {{"type", "ClusterIP"},
                  {"clusterIP", "127.0.0.10"},
                  {"ports", json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}},
                                         {{"name", "admin"}, {"port", 9090}}})}}}};
}

json ingress(const std::string& ns, const std::string& name) {
    return json{
        {"metadata",
         {{"namespace", ns}, {"name", name}, {"annotations", {{"prometheus.io/probe", "true"}}}}},
        {"spec",
         {{"tls", json::array({{{"hosts", json::array({"*.example.test"})}}})},
          {"rules",
           json::array(
               {{{"host", name + ".example.test"},
                 {"http",
                  {{"paths", json::array({{{"path", "/healthz"}, {"pathType", "Prefix"}}})}}}},
                {{"host", "plain.test"}}})}}}};
}

// The discovery under test, its loop, and what it handed over.
class Harness {
public:
    explicit Harness(std::uint64_t watchdog_ms = 15000) : fixture_(watchdog_ms) {
        REQUIRE(ticker_.init(this, [this](uv_timer_t* t) {
            return uv_timer_init(fixture_.loop().raw(), t);
        }) == 0);
        // The fake changes on its own thread: wake the loop often enough to look.
        uv_timer_start(
            ticker_.get(), [](uv_timer_t*) {}, 5, 5);
        options.config.interval = 30s;
        options.backoff.initial = 50ms;
        options.backoff.cap = 400ms;
        options.random01 = [] { return 0.0; };
    }

    ~Harness() {
        discovery.reset();
        ticker_.reset();
        CHECK(fixture_.close() == 0);
    }

    KubeClientConfig client_for(const FakeKubeApi& api) const {
        KubeClientConfig client;
        client.scheme = "https";
        client.host = "127.0.0.1";
        client.port = api.port();
        client.tls.ca = api.ca_pem();
        client.token = api.token();
        client.source = "test";
        return client;
    }

    void start(const FakeKubeApi& api) {
        if (!options.client) {
            options.client = client_for(api);
        }
        start_without_client();
    }

    // Starts with options as they are: the client from options.config.kubeconfig or
    // options.in_cluster when options.client is unset.
    void start_without_client() {
        auto created = KubernetesDiscovery::create(fixture_.loop(), logger_, nullptr, options,
                                                   [this](const TargetSet& targets) {
                                                       ++calls;
                                                       last = targets;
                                                   });
        INFO((created ? std::string() : created.error()));
        REQUIRE(created);
        discovery = std::move(*created);
        discovery->start();
    }

    bool wait(const std::function<bool()>& condition) { return fixture_.run_until(condition); }

    // Runs the loop until the handed-over set has exactly these target strings.
    bool wait_targets(std::vector<std::string> expected) {
        std::sort(expected.begin(), expected.end());
        const bool ok = wait([&] { return calls > 0 && addresses() == expected; });
        if (!ok) {
            for (const auto& t : addresses()) {
                UNSCOPED_INFO("have " << t);
            }
        }
        return ok;
    }

    std::vector<std::string> addresses() const {
        std::vector<std::string> out;
        for (const auto& t : last) {
            out.push_back(t.target);
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    KubernetesDiscoveryStatus status() const { return discovery->status(); }
    sonde::Loop& loop() { return fixture_.loop(); }

    KubernetesDiscoveryOptions options;
    std::unique_ptr<KubernetesDiscovery> discovery;
    int calls = 0;
    TargetSet last;

private:
    sonde::test::LoopFixture fixture_;
    sonde::UvHandle<uv_timer_t> ticker_;
    sonde::Logger logger_{sonde::LogLevel::Error};
};

const std::vector<std::string> kWeb = {"web.shop.svc:80", "web.shop.svc:9090"};

}  // namespace

TEST_CASE("kube discovery: list, then watch sees add, modify, delete", "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("shop", "web"));
    api.put_service(discovery_service("shop", "quiet", json{{"prometheus.io/probe", "false"}}));
    sonde::test::WatchFraming framing;
    framing.pieces_per_event = GENERATE(1, 3);
    api.set_watch_framing(framing);
    Harness h;
    h.options.config.ingresses = false;
    h.start(api);
    REQUIRE(h.wait_targets(kWeb));
    CHECK(h.calls == 1);
    CHECK(h.last[0].labels ==
          sonde::discovery::Labels{{"namespace", "shop"}, {"kind", "Service"}, {"name", "web"}});
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));

    // ADDED
    api.put_service(discovery_service("shop", "cart", json{{"sonde.io/port", "http"}}));
    REQUIRE(h.wait_targets({"cart.shop.svc:80", "web.shop.svc:80", "web.shop.svc:9090"}));
    // MODIFIED: an override changes the targets; opting out removes them.
    api.put_service(discovery_service("shop", "cart",
                                      json{{"sonde.io/path", "/healthz"},
                                           {"sonde.io/port", "admin"},
                                           {"sonde.io/interval", "10s"}}));
    REQUIRE(h.wait_targets(
        {"http://cart.shop.svc:9090/healthz", "web.shop.svc:80", "web.shop.svc:9090"}));
    for (const auto& t : h.last) {
        CHECK(t.interval == (t.target.find("cart") != std::string::npos ? 10s : 30s));
    }
    api.put_service(discovery_service("shop", "quiet"));
    REQUIRE(h.wait_targets({"http://cart.shop.svc:9090/healthz", "quiet.shop.svc:80",
                            "quiet.shop.svc:9090", "web.shop.svc:80", "web.shop.svc:9090"}));
    // DELETED
    REQUIRE(api.delete_object(KubeKind::Service, "shop", "web"));
    REQUIRE(h.wait_targets(
        {"http://cart.shop.svc:9090/healthz", "quiet.shop.svc:80", "quiet.shop.svc:9090"}));

    const KubernetesDiscoveryStatus status = h.status();
    CHECK(status.healthy);
    CHECK(status.list_requests == 1);
    CHECK(status.list_errors == 0);
    CHECK(status.watch_requests == 1);
    CHECK(status.watch_errors == 0);
    CHECK(status.objects == 2);
    CHECK(status.targets == 3);
    CHECK(status.last_sync_seconds > 1.7e9);
    CHECK(api.counts(KubeKind::Service).list == 1);
    CHECK(api.counts(KubeKind::Ingress).list == 0);

    const auto list = api.requests().front();
    CHECK(list.path == "/api/v1/services");
    CHECK(list.param("limit") == "500");
    CHECK(list.header("Authorization") == "Bearer " + api.token());
    CHECK(list.header("Accept") == "application/json");
    CHECK(list.header("User-Agent").rfind("sonde/", 0) == 0);
    const auto watch = api.last_request(KubeKind::Service);
    CHECK(watch.param("watch") == "1");
    CHECK(watch.param("allowWatchBookmarks") == "true");
    const int timeout = std::stoi(watch.param("timeoutSeconds").value_or("0"));
    CHECK(timeout >= 300);
    CHECK(timeout < 600);
}

TEST_CASE("kube discovery: a burst of events is handed over once", "[integration][kube]") {
    FakeKubeApi api;
    Harness h;
    h.options.config.ingresses = false;
    h.start(api);
    REQUIRE(h.wait([&] { return api.open_watches() == 1 && h.calls == 1; }));
    CHECK(h.last.empty());  // the first complete picture is handed over even when empty
    sonde::test::WatchFraming framing;
    framing.coalesce = true;
    api.set_watch_framing(framing);
    for (int i = 0; i < 20; ++i) {
        api.put_service(discovery_service("burst", "s" + std::to_string(i)));
    }
    REQUIRE(h.wait([&] { return h.last.size() == 40; }));
    // 20 events, far fewer hand-overs (at most one per loop iteration, and the events came in
    // a few chunks).
    CHECK(h.calls < 12);
}

TEST_CASE("kube discovery: pagination follows continue", "[integration][kube]") {
    FakeKubeApi api;
    std::vector<std::string> expected;
    for (int i = 0; i < 5; ++i) {
        api.put_service(discovery_service("p", "s" + std::to_string(i)));
        expected.push_back("s" + std::to_string(i) + ".p.svc:80");
        expected.push_back("s" + std::to_string(i) + ".p.svc:9090");
    }
    api.set_max_page_size(2);
    Harness h;
    h.options.config.ingresses = false;
    h.start(api);
    REQUIRE(h.wait_targets(expected));
    CHECK(h.calls == 1);  // one hand-over for the whole list, not one per page
    CHECK(api.counts(KubeKind::Service).list == 3);
    const auto requests = api.requests();
    REQUIRE(requests.size() >= 3);
    CHECK_FALSE(requests[0].param("continue").has_value());
    CHECK(requests[1].param("continue").has_value());
    CHECK(requests[2].param("limit") == "500");
}

TEST_CASE("kube discovery: 410 relists and vanished objects become deletions",
          "[integration][kube]") {
    const bool as_http = GENERATE(false, true);
    CAPTURE(as_http);
    FakeKubeApi api;
    api.set_expired_watch_as_http_410(as_http);
    api.put_service(discovery_service("shop", "web"));
    api.put_service(discovery_service("shop", "gone"));
    Harness h;
    h.options.config.ingresses = false;
    h.start(api);
    REQUIRE(h.wait_targets(
        {"gone.shop.svc:80", "gone.shop.svc:9090", "web.shop.svc:80", "web.shop.svc:9090"}));
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));

    // While the API server is down, an object goes and another comes; history is compacted,
    // so the client's resourceVersion is too old when it comes back.
    api.stop();
    REQUIRE(h.wait([&] { return h.status().watch_errors >= 2; }));
    // The API server being down keeps the last known targets.
    CHECK(h.addresses().size() == 4);
    CHECK_FALSE(h.status().healthy);
    REQUIRE(api.delete_object(KubeKind::Service, "shop", "gone"));
    api.put_service(discovery_service("shop", "new"));
    api.compact();
    REQUIRE(api.restart());

    REQUIRE(h.wait_targets(
        {"new.shop.svc:80", "new.shop.svc:9090", "web.shop.svc:80", "web.shop.svc:9090"}));
    REQUIRE(h.wait([&] { return h.status().healthy && api.open_watches() == 1; }));
    CHECK(api.counts(KubeKind::Service).list == 2);
    // The new watch starts from the relist's resourceVersion.
    CHECK(api.last_request(KubeKind::Service).param("resourceVersion") ==
          std::to_string(api.resource_version()));
}

TEST_CASE("kube discovery: 500 and 429 back off, honouring Retry-After", "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("shop", "web"));
    SECTION("500 twice on the list") {
        api.fail_next(2, 500);
        Harness h;
        h.options.config.ingresses = false;
        h.start(api);
        REQUIRE(h.wait_targets(kWeb));
        CHECK(h.status().list_errors == 2);
        CHECK(h.status().list_requests == 3);
        CHECK(h.status().healthy);
    }
    SECTION("503 with Retry-After: 1 on the list") {
        api.fail_next(1, 503, 1);
        Harness h;
        h.options.config.ingresses = false;
        h.start(api);
        REQUIRE(h.wait([&] { return h.status().list_errors == 1; }));
        const auto refused_at = std::chrono::steady_clock::now();
        REQUIRE(h.wait_targets(kWeb));
        CHECK(std::chrono::steady_clock::now() - refused_at > 900ms);
        CHECK(h.status().list_requests == 2);
    }
    SECTION("429 with Retry-After: 1 on the watch") {
        Harness h;
        h.options.config.ingresses = false;
        h.start(api);
        REQUIRE(h.wait_targets(kWeb));
        REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
        api.fail_next(1, 429, 1);
        api.close_watches();
        REQUIRE(h.wait([&] { return h.status().watch_errors == 1; }));
        CHECK_FALSE(h.status().healthy);
        const auto refused_at = std::chrono::steady_clock::now();
        REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
        // The backoff alone would retry after 50 ms; Retry-After says one second.
        CHECK(std::chrono::steady_clock::now() - refused_at > 900ms);
        CHECK(api.counts(KubeKind::Service).list == 1);  // a 429 retries the watch, no relist
        CHECK(h.addresses() == kWeb);
        // An accepted watch is health enough, before any event.
        REQUIRE(h.wait([&] { return h.status().healthy; }));
    }
}

TEST_CASE("kube discovery: a closed watch is watched again from the last resourceVersion",
          "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("shop", "web"));
    Harness h;
    h.options.config.ingresses = false;
    h.start(api);
    REQUIRE(h.wait_targets(kWeb));
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
    api.put_service(discovery_service("shop", "cart"));
    REQUIRE(h.wait([&] { return h.last.size() == 4; }));
    const std::string seen = std::to_string(api.resource_version());

    SECTION("clean end") {
        api.close_watches();
    }
    SECTION("connection reset") {
        api.reset_watches();
    }
    REQUIRE(h.wait([&] { return api.counts(KubeKind::Service).watch == 2; }));
    CHECK(api.last_request(KubeKind::Service).param("resourceVersion") == seen);
    CHECK(api.counts(KubeKind::Service).list == 1);
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
    api.delete_object(KubeKind::Service, "shop", "cart");
    REQUIRE(h.wait_targets(kWeb));
}

TEST_CASE("kube discovery: watches that close at once without events back off",
          "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("shop", "web"));
    Harness h;
    h.options.config.ingresses = false;
    h.start(api);
    REQUIRE(h.wait_targets(kWeb));
    // Every watch the client opens is closed cleanly before it carries any event.
    REQUIRE(h.wait([&] {
        if (api.open_watches() > 0) {
            api.close_watches();
        }
        return h.status().watch_errors >= 4;
    }));
    const KubernetesDiscoveryStatus status = h.status();
    // Each short watch counted as a failure (so it was followed by a backoff), none relisted,
    // and the targets stayed.
    CHECK(status.watch_requests <= status.watch_errors + 1);
    CHECK(api.counts(KubeKind::Service).list == 1);
    CHECK(h.addresses() == kWeb);
}

TEST_CASE("kube discovery: bookmarks move the resourceVersion", "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("shop", "web"));
    Harness h;
    h.options.config.ingresses = false;
    h.start(api);
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
    // Ingress changes move the global resourceVersion; only a bookmark tells the Service
    // watch about it.
    api.put_ingress(ingress("shop", "front"));
    api.put_ingress(ingress("shop", "back"));
    const std::string current = std::to_string(api.resource_version());
    const double before = h.status().last_sync_seconds;
    api.send_bookmarks();
    REQUIRE(h.wait([&] { return h.status().last_sync_seconds > before; }));
    api.close_watches();
    REQUIRE(h.wait([&] { return api.counts(KubeKind::Service).watch == 2; }));
    CHECK(api.last_request(KubeKind::Service).param("resourceVersion") == current);
}

TEST_CASE("kube discovery: Ingresses, namespaces and label selectors", "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("a", "web", json::object(), json{{"app", "web"}}));
    api.put_service(discovery_service("b", "web", json::object(), json{{"app", "db"}}));
    api.put_service(discovery_service("c", "web", json::object(), json{{"app", "web"}}));
    api.put_ingress(ingress("a", "front"));
    api.put_ingress(ingress("c", "other"));
    Harness h;
    h.options.config.namespaces = {"a", "b"};
    h.options.config.label_selector = "app in (web,api)";
    h.start(api);
    // The ingress has no labels, so the selector drops it.
    REQUIRE(h.wait_targets({"web.a.svc:80", "web.a.svc:9090"}));
    REQUIRE(h.wait([&] { return api.open_watches() == 4; }));
    for (const auto& request : api.requests()) {
        CHECK(request.path.find("/namespaces/") != std::string::npos);
        CHECK(request.param("labelSelector") == "app in (web,api)");
    }
    json labelled = ingress("b", "front");
    labelled["metadata"]["labels"] = {{"app", "api"}};
    api.put_ingress(labelled);
    REQUIRE(h.wait_targets({"http://plain.test/", "https://front.example.test/healthz",
                            "web.a.svc:80", "web.a.svc:9090"}));
    CHECK(h.status().healthy);
    CHECK(h.status().list_requests == 4);
}

TEST_CASE("kube discovery: token rotation, 401 then re-read", "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("shop", "web"));
    sonde::test::TempDir dir;
    const std::string token_file = dir.write("token", api.token() + "\n");
    Harness h;
    h.options.config.ingresses = false;
    h.options.client = h.client_for(api);
    h.options.client->token.clear();
    h.options.client->token_file = token_file;
    h.start(api);
    REQUIRE(h.wait_targets(kWeb));
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
    // An event, so that the watch closed below does not count as a failed one (no event in
    // its first second).
    api.put_service(discovery_service("shop", "cart"));
    REQUIRE(h.wait([&] { return h.last.size() == 4; }));

    // The kubelet rewrote the token and the old one stopped working; the client's copy is
    // younger than its refresh period, so only the 401 makes it look again.
    api.set_token("rotated-token");
    dir.write("token", "rotated-token\n");
    api.close_watches();
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
    CHECK(api.unauthorized_count() == 1);
    CHECK(api.last_request(KubeKind::Service).header("Authorization") == "Bearer rotated-token");
    CHECK(h.status().watch_errors == 0);
    REQUIRE(api.delete_object(KubeKind::Service, "shop", "cart"));
    REQUIRE(h.wait_targets(kWeb));
}

TEST_CASE("kube discovery: a wrong token is an error with backoff, not a hot loop",
          "[integration][kube]") {
    FakeKubeApi api;
    Harness h;
    h.options.config.ingresses = false;
    h.options.client = h.client_for(api);
    h.options.client->token = "wrong";
    h.start(api);
    REQUIRE(h.wait([&] { return h.status().list_errors >= 3; }));
    CHECK_FALSE(h.status().healthy);
    CHECK(h.calls == 0);
    api.set_tokens({"wrong"});
    REQUIRE(h.wait([&] { return h.status().healthy; }));
}

TEST_CASE("kube discovery: destroyed mid-list, mid-watch and mid-backoff", "[integration][kube]") {
    FakeKubeApi api;
    for (int i = 0; i < 50; ++i) {
        api.put_service(discovery_service("shop", "s" + std::to_string(i)));
    }
    sonde::Logger quiet(sonde::LogLevel::Error);
    Harness h;
    SECTION("mid-list") {
        h.start(api);
        REQUIRE(h.wait([&] { return api.total_requests() >= 1; }));
        h.discovery.reset();
    }
    SECTION("mid-watch") {
        h.start(api);
        REQUIRE(h.wait([&] { return api.open_watches() == 2; }));
        h.discovery.reset();
        REQUIRE(h.wait([&] { return api.open_watches() == 0; }));
    }
    SECTION("mid-backoff") {
        api.stop();
        h.start(api);
        REQUIRE(h.wait([&] { return h.status().list_errors >= 2; }));
        h.discovery.reset();
    }
    SECTION("inside its own callback") {
        bool destroyed = false;
        KubernetesDiscoveryOptions options = h.options;
        options.client = h.client_for(api);
        auto created = KubernetesDiscovery::create(h.loop(), quiet, nullptr, options,
                                                   [&](const TargetSet& targets) {
                                                       CHECK(targets.size() == 100);
                                                       h.discovery.reset();
                                                       destroyed = true;
                                                   });
        REQUIRE(created);
        h.discovery = std::move(*created);
        h.discovery->start();
        REQUIRE(h.wait([&] { return destroyed; }));
    }
    CHECK(h.discovery == nullptr);
}

TEST_CASE("kube discovery: in-cluster files and a kubeconfig reach the API",
          "[integration][kube]") {
    FakeKubeApi api;
    api.put_service(discovery_service("shop", "web"));
    sonde::test::TempDir dir;
    Harness h;
    h.options.config.ingresses = false;
    SECTION("in-cluster: service account files and KUBERNETES_SERVICE_*") {
        dir.write("token", api.token() + "\n");
        dir.write("ca.crt", api.ca_pem());
        dir.write("namespace", "monitoring\n");
        h.options.in_cluster.root = dir.path();
        const std::string port = std::to_string(api.port());
        h.options.in_cluster.getenv = [port](const char* name) -> const char* {
            if (std::string_view(name) == "KUBERNETES_SERVICE_HOST") {
                return "127.0.0.1";
            }
            if (std::string_view(name) == "KUBERNETES_SERVICE_PORT") {
                return port.c_str();
            }
            return nullptr;
        };
        h.options.client.reset();
        h.start_without_client();
        CHECK(h.discovery->client_config().default_namespace == "monitoring");
    }
    SECTION("kubeconfig with inline CA and token") {
        h.options.config.kubeconfig = dir.write("kubeconfig", api.kubeconfig("shop"));
        h.start_without_client();
        CHECK(h.discovery->client_config().default_namespace == "shop");
    }
    REQUIRE(h.wait_targets(kWeb));
    CHECK(h.status().healthy);
}

TEST_CASE("kube discovery: configuration errors come back from create()", "[integration][kube]") {
    sonde::test::LoopFixture fixture;
    sonde::Logger logger(sonde::LogLevel::Error);
    KubernetesDiscoveryOptions options;
    SECTION("no kubeconfig file") {
        options.config.kubeconfig = "/nonexistent/kubeconfig";
        auto created = KubernetesDiscovery::create(fixture.loop(), logger, nullptr, options,
                                                   [](const TargetSet&) {});
        REQUIRE_FALSE(created);
        CHECK(created.error() ==
              "kubernetes discovery: kubeconfig: cannot open "
              "/nonexistent/kubeconfig: No such file or directory");
    }
    SECTION("an unreadable CA file") {
        KubeClientConfig client;
        client.host = "127.0.0.1";
        client.tls.ca_file = "/nonexistent/ca.crt";
        options.client = client;
        auto created = KubernetesDiscovery::create(fixture.loop(), logger, nullptr, options,
                                                   [](const TargetSet&) {});
        REQUIRE_FALSE(created);
        CHECK(created.error().rfind("kubernetes discovery: kubernetes API 127.0.0.1:443: ", 0) ==
              0);
    }
    CHECK(fixture.close() == 0);
}

// Not run by default: `sonde_integration_tests "[kube-bench]"` prints how long the first list
// of many Services takes and the delay from an API change to the hand-over.
TEST_CASE("kube discovery: list of 5000 Services, event to hand-over delay", "[.][kube-bench]") {
    FakeKubeApi api;
    for (int i = 0; i < 5000; ++i) {
        api.put_service(discovery_service("ns" + std::to_string(i % 50), "s" + std::to_string(i)));
    }
    Harness h(60000);
    h.options.config.ingresses = false;
    const auto started = std::chrono::steady_clock::now();
    h.start(api);
    REQUIRE(h.wait([&] { return h.last.size() == 10000; }));
    const auto listed = std::chrono::steady_clock::now();
    REQUIRE(h.wait([&] { return api.open_watches() == 1; }));
    std::vector<double> delays;
    for (int i = 0; i < 20; ++i) {
        const int before = h.calls;
        const auto put_at = std::chrono::steady_clock::now();
        api.put_service(discovery_service("late", "l" + std::to_string(i)));
        REQUIRE(h.wait([&] { return h.calls > before; }));
        delays.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - put_at)
                .count());
    }
    std::sort(delays.begin(), delays.end());
    const double list_ms = std::chrono::duration<double, std::milli>(listed - started).count();
    WARN("5000 Services (10 pages) listed and handed over in "
         << list_ms << " ms; API change to hand-over: median " << delays[10] << " ms, max "
         << delays.back() << " ms (polled every 5 ms)");
}

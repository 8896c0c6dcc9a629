// The fake Kubernetes API server, exercised over sonde's own HTTP client (HttpExchange with TLS
// against the fake's CA): discovery, auth, list (pagination, selectors, snapshots), watch
// (events, bookmarks, split chunks, timeouts, 410 both ways), scripted failures, restarts.
#include "tests/support/fake_kube_api.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "prober/core/uv_handle.hpp"
#include "prober/net/http_client.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/raw_http_client.hpp"

namespace sonde::test {
namespace {

using nlohmann::json;

json fake_service(const std::string& ns, const std::string& name, json labels = json::object()) {
    return json{
        {"metadata", {{"namespace", ns}, {"name", name}, {"labels", std::move(labels)}}},
        {"spec",
         {{"type", "ClusterIP"},
          {"clusterIP", "127.0.0.10"},
          {"ports", json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}})}}}};
}

json ingress(const std::string& ns, const std::string& name) {
    return json{
        {"metadata", {{"namespace", ns}, {"name", name}}},
        {"spec",
         {{"rules",
           json::array(
               {{{"host", name + ".example.test"},
                 {"http",
                  {{"paths", json::array({{{"path", "/"}, {"pathType", "Prefix"}}})}}}}})}}}};
}

// One request to the fake through HttpExchange, buffered or streamed.
struct Call {
    std::unique_ptr<net::HttpExchange> exchange;
    bool done = false;
    std::optional<net::HttpError> error;
    int status = 0;
    std::vector<std::string> pieces;  // body pieces as the parser delivered them (streaming)
    std::string streamed;

    // The newline-delimited events received so far.
    std::vector<json> events() const {
        std::vector<json> out;
        std::size_t start = 0;
        for (auto nl = streamed.find('\n'); nl != std::string::npos;
             nl = streamed.find('\n', start)) {
            out.push_back(json::parse(streamed.substr(start, nl - start)));
            start = nl + 1;
        }
        return out;
    }
    json body() const { return json::parse(exchange->response().body); }
};

class Client {
public:
    Client(LoopFixture& fx, FakeKubeApi& fake) : fx_(fx), fake_(fake) {
        config::TlsConfig tls;
        tls.ca = fake.ca_pem();
        auto context = net::make_tls_client_context(tls);
        REQUIRE(context);
        tls_ = *context;
    }

    std::unique_ptr<Call> start(const std::string& target, bool stream,
                                std::optional<std::string> token = std::nullopt) {
        auto call = std::make_unique<Call>();
        call->exchange = std::make_unique<net::HttpExchange>(fx_.loop());
        net::HttpExchangeOptions options;
        options.address = *net::IpAddress::parse("127.0.0.1");
        options.port = fake_.port();
        options.tls = tls_;
        options.server_name = "127.0.0.1";
        Call* raw = call.get();
        if (stream) {
            options.on_head = [raw](const net::HttpResponseHead& head) {
                raw->status = head.status;
            };
            options.on_body_chunk = [raw](std::string_view piece) {
                raw->pieces.emplace_back(piece);
                raw->streamed.append(piece);
            };
        }
        net::HttpClientRequest request;
        request.target = target;
        request.headers.add("Host", "127.0.0.1:" + std::to_string(fake_.port()));
        request.headers.add("Accept", "application/json");
        request.headers.add("User-Agent", "sonde-test/0");
        const std::string bearer = token ? *token : fake_.token();
        if (!bearer.empty()) {
            request.headers.add("Authorization", "Bearer " + bearer);
        }
        call->exchange->start(std::move(options), std::move(request),
                              [raw](std::optional<net::HttpError> e) {
                                  raw->done = true;
                                  raw->error = std::move(e);
                                  raw->status = raw->exchange->response().head.status;
                              });
        return call;
    }

    // A buffered GET, run to completion.
    std::unique_ptr<Call> get(const std::string& target,
                              std::optional<std::string> token = std::nullopt) {
        auto call = start(target, false, std::move(token));
        REQUIRE(fx_.run_until([&] { return call->done; }));
        return call;
    }

    json get_json(const std::string& target, int expected_status = 200) {
        auto call = get(target);
        REQUIRE_FALSE(call->error);
        REQUIRE(call->status == expected_status);
        return call->body();
    }

private:
    LoopFixture& fx_;
    FakeKubeApi& fake_;
    std::shared_ptr<const net::TlsClientContext> tls_;
};

// run_until for conditions on the fake's counters that no event of the test's loop announces:
// a ticking timer wakes the loop to look again.
bool run_until_polled(LoopFixture& fx, const std::function<bool()>& done) {
    UvHandle<uv_timer_t> ticker;
    REQUIRE(ticker.init(nullptr,
                        [&](uv_timer_t* t) { return uv_timer_init(fx.loop().raw(), t); }) == 0);
    uv_timer_start(
        ticker.get(), [](uv_timer_t*) {}, 5, 5);
    return fx.run_until(done);
}

std::vector<std::string> names_of(const json& list) {
    std::vector<std::string> out;
    for (const auto& item : list.at("items")) {
        out.push_back(item.at("metadata").at("namespace").get<std::string>() + "/" +
                      item.at("metadata").at("name").get<std::string>());
    }
    return out;
}

TEST_CASE("fake kube api: discovery, list, get and bearer tokens", "[integration][kubeapi]") {
    FakeKubeApi fake;
    LoopFixture fx;
    Client client(fx, fake);
    fake.put_service(fake_service("shop", "web"));
    fake.put_service(fake_service("default", "api"));
    fake.put_ingress(ingress("shop", "store"));

    SECTION("discovery documents") {
        CHECK(client.get_json("/version").at("minor") == "29");
        CHECK(client.get_json("/api").at("versions") == json::array({"v1"}));
        CHECK(client.get_json("/apis").at("groups").at(0).at("name") == "networking.k8s.io");
        const json core = client.get_json("/api/v1");
        CHECK(core.at("resources").at(0).at("name") == "services");
        CHECK(core.at("resources").at(0).at("shortNames") == json::array({"svc"}));
        const json net = client.get_json("/apis/networking.k8s.io/v1");
        CHECK(net.at("resources").at(0).at("kind") == "Ingress");
        CHECK(client.get_json("/apis/discovery.k8s.io/v1", 404).at("reason") == "NotFound");
    }

    SECTION("lists are sorted, carry the global resourceVersion and no kind per item") {
        const json list = client.get_json("/api/v1/services");
        CHECK(list.at("kind") == "ServiceList");
        CHECK(list.at("apiVersion") == "v1");
        CHECK(list.at("metadata").at("resourceVersion") == std::to_string(fake.resource_version()));
        CHECK(names_of(list) == std::vector<std::string>{"default/api", "shop/web"});
        CHECK_FALSE(list.at("items").at(0).contains("kind"));
        CHECK(list.at("metadata").count("continue") == 0);

        const json shop = client.get_json("/api/v1/namespaces/shop/services");
        CHECK(names_of(shop) == std::vector<std::string>{"shop/web"});

        const json ingresses = client.get_json("/apis/networking.k8s.io/v1/ingresses");
        CHECK(ingresses.at("kind") == "IngressList");
        CHECK(ingresses.at("apiVersion") == "networking.k8s.io/v1");
        CHECK(names_of(ingresses) == std::vector<std::string>{"shop/store"});
        CHECK(fake.counts(KubeKind::Service).list == 2);
        CHECK(fake.counts(KubeKind::Ingress).list == 1);
        CHECK(fake.last_request(KubeKind::Service).path == "/api/v1/namespaces/shop/services");
    }

    SECTION("a single object has kind, uid and a 404 names it") {
        const json web = client.get_json("/api/v1/namespaces/shop/services/web");
        CHECK(web.at("kind") == "Service");
        CHECK(web.at("metadata").at("uid").get<std::string>().size() == 36);
        const json missing = client.get_json("/api/v1/namespaces/shop/services/nope", 404);
        CHECK(missing.at("kind") == "Status");
        CHECK(missing.at("message") == "services \"nope\" not found");
        CHECK(fake.counts(KubeKind::Service).get == 2);
    }

    SECTION("an update keeps uid and creationTimestamp and bumps resourceVersion") {
        const auto before = *fake.get_object(KubeKind::Service, "shop", "web");
        const auto after = fake.put_service(fake_service("shop", "web", {{"tier", "front"}}));
        CHECK(after.at("metadata").at("uid") == before.at("metadata").at("uid"));
        CHECK(after.at("metadata").at("creationTimestamp") ==
              before.at("metadata").at("creationTimestamp"));
        CHECK(std::stoull(after.at("metadata").at("resourceVersion").get<std::string>()) >
              std::stoull(before.at("metadata").at("resourceVersion").get<std::string>()));
        CHECK(fake.object_count(KubeKind::Service) == 2);
        CHECK_THROWS_AS(fake.put_service(json{{"metadata", json::object()}}),
                        std::invalid_argument);
    }

    SECTION("a wrong or missing token gets 401 Unauthorized; rotation swaps the accepted one") {
        auto wrong = client.get("/api/v1/services", std::string("nope"));
        REQUIRE(wrong->status == 401);
        CHECK(wrong->body().at("reason") == "Unauthorized");
        auto missing = client.get("/api/v1/services", std::string());
        CHECK(missing->status == 401);
        // /version is public without credentials, as system:public-info-viewer allows.
        CHECK(client.get("/version", std::string())->status == 200);
        CHECK(fake.unauthorized_count() == 2);

        const std::string old_token = fake.token();
        fake.set_token("rotated");
        CHECK(client.get("/api/v1/services", old_token)->status == 401);
        CHECK(client.get("/api/v1/services", std::string("rotated"))->status == 200);
        fake.set_tokens({"a", "b"});
        CHECK(client.get("/api/v1/services", std::string("a"))->status == 200);
        CHECK(client.get("/api/v1/services", std::string("b"))->status == 200);
        CHECK(fake.last_request().header("authorization") == "Bearer b");
    }
}

TEST_CASE("fake kube api: pagination with limit and continue", "[integration][kubeapi]") {
    FakeKubeApi fake;
    LoopFixture fx;
    Client client(fx, fake);
    for (const char* name : {"a", "b", "c", "d", "e"}) {
        fake.put_service(fake_service("ns", name));
    }
    const std::string snapshot = std::to_string(fake.resource_version());

    SECTION("pages follow continue and keep the first page's snapshot") {
        const json first = client.get_json("/api/v1/services?limit=2");
        CHECK(names_of(first) == std::vector<std::string>{"ns/a", "ns/b"});
        CHECK(first.at("metadata").at("resourceVersion") == snapshot);
        CHECK(first.at("metadata").at("remainingItemCount") == 3);
        const std::string token = first.at("metadata").at("continue");
        // Changes after the first page do not show in the later ones.
        fake.put_service(fake_service("ns", "bb"));
        fake.delete_object(KubeKind::Service, "ns", "e");
        const json second = client.get_json("/api/v1/services?limit=2&continue=" + token);
        CHECK(names_of(second) == std::vector<std::string>{"ns/c", "ns/d"});
        CHECK(second.at("metadata").at("resourceVersion") == snapshot);
        const json third = client.get_json("/api/v1/services?limit=2&continue=" +
                                           second.at("metadata").at("continue").get<std::string>());
        CHECK(names_of(third) == std::vector<std::string>{"ns/e"});
        CHECK(third.at("metadata").count("continue") == 0);
        // A fresh list sees the changes.
        CHECK(names_of(client.get_json("/api/v1/services")) ==
              std::vector<std::string>{"ns/a", "ns/b", "ns/bb", "ns/c", "ns/d"});
    }

    SECTION("a continue token from before a compaction is 410 Expired") {
        const json first = client.get_json("/api/v1/services?limit=2");
        fake.put_service(fake_service("ns", "f"));
        fake.compact();
        const json expired =
            client.get_json("/api/v1/services?limit=2&continue=" +
                                first.at("metadata").at("continue").get<std::string>(),
                            410);
        CHECK(expired.at("reason") == "Expired");
        CHECK(expired.at("code") == 410);
        CHECK(client.get_json("/api/v1/services?continue=garbage", 400).at("reason") ==
              "BadRequest");
    }

    SECTION("the server may cap the page size below the client's limit") {
        fake.set_max_page_size(3);
        const json capped = client.get_json("/api/v1/services?limit=500");
        CHECK(capped.at("items").size() == 3);
        CHECK(capped.at("metadata").contains("continue"));
        const json unlimited = client.get_json("/api/v1/services");
        CHECK(unlimited.at("items").size() == 3);
    }

    SECTION("resourceVersion with limit lists that exact snapshot") {
        fake.put_service(fake_service("ns", "later"));
        const json old = client.get_json("/api/v1/services?limit=10&resourceVersion=" + snapshot);
        CHECK(old.at("items").size() == 5);
        CHECK(old.at("metadata").at("resourceVersion") == snapshot);
        CHECK(client.get_json("/api/v1/services?resourceVersion=0").at("items").size() == 6);
        fake.compact();
        CHECK(client.get_json("/api/v1/services?limit=10&resourceVersion=" + snapshot, 410)
                  .at("reason") == "Expired");
    }
}

TEST_CASE("fake kube api: label and field selectors", "[integration][kubeapi]") {
    FakeKubeApi fake;
    LoopFixture fx;
    Client client(fx, fake);
    fake.put_service(fake_service("ns", "web", {{"app", "web"}, {"tier", "front"}}));
    fake.put_service(fake_service("ns", "gen", {{"app", "gen"}}));
    fake.put_service(fake_service("ns", "db", {{"app", "db"}, {"legacy", "yes"}}));
    fake.put_service(fake_service("other", "web", {{"app", "web"}}));

    using Names = std::vector<std::string>;
    const auto select = [&](const std::string& query) {
        return names_of(client.get_json("/api/v1/services?" + query));
    };
    CHECK(select("labelSelector=app%3Dweb") == Names{"ns/web", "other/web"});
    CHECK(select("labelSelector=app%3D%3Dgen") == Names{"ns/gen"});
    CHECK(select("labelSelector=app!%3Dweb") == Names{"ns/db", "ns/gen"});
    CHECK(select("labelSelector=tier") == Names{"ns/web"});
    CHECK(select("labelSelector=!legacy") == Names{"ns/gen", "ns/web", "other/web"});
    CHECK(select("labelSelector=app+in+%28web%2Cgen%29") == Names{"ns/gen", "ns/web", "other/web"});
    CHECK(select("labelSelector=app+notin+%28web%2Cgen%29") == Names{"ns/db"});
    CHECK(select("labelSelector=app%3Dweb%2Ctier%3Dfront") == Names{"ns/web"});
    CHECK(select("fieldSelector=metadata.name%3Dweb") == Names{"ns/web", "other/web"});
    CHECK(select("fieldSelector=metadata.namespace!%3Dns") == Names{"other/web"});
    CHECK(client.get_json("/api/v1/services?labelSelector=app+in+web", 400).at("reason") ==
          "BadRequest");
    CHECK(client.get_json("/api/v1/services?fieldSelector=spec.type%3DClusterIP", 400)
              .at("message") == "field label not supported: spec.type");
    CHECK(fake.last_request().param("fieldSelector") == "spec.type=ClusterIP");
}

TEST_CASE("fake kube api: watch streams events in chunks", "[integration][kubeapi]") {
    FakeKubeApi fake;
    LoopFixture fx;
    Client client(fx, fake);
    fake.put_service(fake_service("ns", "a", {{"app", "web"}}));
    const std::string listed = std::to_string(fake.resource_version());

    SECTION("from a list's resourceVersion: only later changes, then BOOKMARK, then a clean end") {
        auto watch = client.start(
            "/api/v1/services?watch=1&allowWatchBookmarks=true&"
            "resourceVersion=" +
                listed,
            true);
        REQUIRE(fx.run_until([&] { return watch->status == 200; }));
        CHECK(watch->exchange->response().head.headers.joined("transfer-encoding") == "chunked");
        REQUIRE(fake.open_watches(KubeKind::Service) == 1);
        CHECK(fake.counts(KubeKind::Service).watch == 1);

        fake.put_service(fake_service("ns", "b"));
        fake.put_service(fake_service("ns", "a", {{"app", "web"}, {"v", "2"}}));
        fake.delete_object(KubeKind::Service, "ns", "b");
        fake.put_ingress(ingress("ns", "i"));  // another kind: not on this watch
        REQUIRE(fx.run_until([&] { return watch->events().size() == 3; }));
        fake.send_bookmarks();
        REQUIRE(fx.run_until([&] { return watch->events().size() == 4; }));
        const auto events = watch->events();
        CHECK(events[0].at("type") == "ADDED");
        CHECK(events[0].at("object").at("kind") == "Service");
        CHECK(events[0].at("object").at("metadata").at("name") == "b");
        CHECK(events[1].at("type") == "MODIFIED");
        CHECK(events[2].at("type") == "DELETED");
        CHECK(events[2].at("object").at("metadata").at("name") == "b");
        CHECK(events[3].at("type") == "BOOKMARK");
        CHECK(events[3].at("object").at("metadata").at("resourceVersion") ==
              std::to_string(fake.resource_version()));
        // Every event is its own line.
        CHECK(watch->streamed.back() == '\n');

        fake.close_watches();
        REQUIRE(fx.run_until([&] { return watch->done; }));
        CHECK_FALSE(watch->error);
        CHECK(fake.open_watches() == 0);
    }

    SECTION("from resourceVersion 0: a synthetic ADDED per object first") {
        fake.put_service(fake_service("ns", "b"));
        auto watch =
            client.start("/api/v1/namespaces/ns/services?watch=True&resourceVersion=0", true);
        REQUIRE(fx.run_until([&] { return watch->events().size() == 2; }));
        CHECK(watch->events()[0].at("type") == "ADDED");
        CHECK(watch->events()[1].at("object").at("metadata").at("name") == "b");
    }

    SECTION("an event split over several chunks, with gaps between them") {
        fake.set_watch_framing(WatchFraming{4, 20, false});
        auto watch = client.start("/api/v1/services?watch=1&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return watch->status == 200; }));
        fake.put_service(fake_service("ns", "split"));
        fake.put_service(fake_service("ns", "split2"));
        REQUIRE(fx.run_until([&] { return watch->events().size() == 2; }));
        // How the pieces spread over reads depends on timing; that they parse does not.
        CHECK(watch->pieces.size() >= 2);
        CHECK(watch->events()[0].at("object").at("metadata").at("name") == "split");
        CHECK(watch->events()[1].at("object").at("metadata").at("name") == "split2");
    }

    SECTION("events merged into one chunk") {
        fake.set_watch_framing(WatchFraming{1, 0, true});
        fake.put_service(fake_service("ns", "x"));
        fake.put_service(fake_service("ns", "y"));
        auto watch = client.start("/api/v1/services?watch=1&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return watch->events().size() == 2; }));
        CHECK(watch->pieces.size() == 1);
    }

    SECTION("selector transitions: leaving the selection is DELETED, entering it ADDED") {
        auto watch = client.start(
            "/api/v1/services?watch=1&labelSelector=app%3Dweb&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return watch->status == 200; }));
        fake.put_service(fake_service("ns", "a", {{"app", "other"}}));
        fake.put_service(fake_service("ns", "a", {{"app", "web"}}));
        REQUIRE(fx.run_until([&] { return watch->events().size() == 2; }));
        const auto events = watch->events();
        CHECK(events[0].at("type") == "DELETED");
        CHECK(events[0].at("object").at("metadata").at("resourceVersion") ==
              std::to_string(fake.resource_version() - 1));
        CHECK(events[1].at("type") == "ADDED");
    }

    SECTION("timeoutSeconds ends the stream cleanly") {
        auto watch = client.start(
            "/api/v1/services?watch=1&timeoutSeconds=1&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return watch->done; }));
        CHECK_FALSE(watch->error);
        CHECK(watch->status == 200);
        CHECK(fake.open_watches() == 0);
    }

    SECTION("periodic bookmarks") {
        fake.set_bookmark_interval_ms(50);
        auto watch = client.start(
            "/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return watch->events().size() >= 2; }));
        for (const auto& e : watch->events()) {
            CHECK(e.at("type") == "BOOKMARK");
        }
        // Without allowWatchBookmarks, none.
        auto quiet = client.start("/api/v1/services?watch=1&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return quiet->status == 200; }));
        fake.send_bookmarks();
        fake.put_service(fake_service("ns", "after"));
        REQUIRE(fx.run_until([&] { return quiet->events().size() == 1; }));
        CHECK(quiet->events()[0].at("type") == "ADDED");
    }

    SECTION("reset_watches cuts the stream without its last chunk") {
        auto watch = client.start("/api/v1/services?watch=1&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return watch->status == 200; }));
        fake.reset_watches();
        REQUIRE(fx.run_until([&] { return watch->done; }));
        REQUIRE(watch->error);
        CHECK(watch->error->kind == net::HttpErrorKind::PeerClosed);
    }

    SECTION("a client that goes away mid-stream closes its watch") {
        auto watch = client.start("/api/v1/services?watch=1&resourceVersion=" + listed, true);
        REQUIRE(fx.run_until([&] { return watch->status == 200; }));
        REQUIRE(fake.open_watches() == 1);
        watch.reset();
        CHECK(fake.wait_until([&] { return fake.open_watches() == 0; },
                              std::chrono::milliseconds(5000)));
    }

    SECTION("a stalled watch gets nothing until it is closed") {
        fake.set_stall_watches(true);
        auto watch = client.start("/api/v1/services?watch=1&resourceVersion=" + listed, true);
        REQUIRE(run_until_polled(fx, [&] { return fake.counts(KubeKind::Service).watch == 1; }));
        fake.put_service(fake_service("ns", "unseen"));
        fake.send_bookmarks();
        CHECK(fake.open_watches() == 0);
        fake.set_stall_watches(false);
        // The list still works on other connections meanwhile.
        CHECK(client.get_json("/api/v1/services").at("items").size() == 2);
        CHECK(watch->exchange->times().first_byte_ns == 0);
        CHECK_FALSE(watch->done);
        fake.close_watches();
        REQUIRE(fx.run_until([&] { return watch->done; }));
        REQUIRE(watch->error);
        CHECK(watch->error->kind == net::HttpErrorKind::PeerClosed);
        CHECK(watch->streamed.empty());
    }

    SECTION("watch-list is refused with 422 so that clients fall back to list+watch") {
        auto call = client.get(
            "/api/v1/services?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan");
        CHECK(call->status == 422);
        CHECK(call->body().at("reason") == "Invalid");
        CHECK(client.get("/api/v1/services?watch=true&resourceVersionMatch=NotOlderThan")->status ==
              422);
    }
}

TEST_CASE("fake kube api: a watch from a compacted resourceVersion gets 410",
          "[integration][kubeapi]") {
    FakeKubeApi fake;
    LoopFixture fx;
    Client client(fx, fake);
    fake.put_service(fake_service("ns", "a"));
    const std::string old = std::to_string(fake.resource_version());
    fake.put_service(fake_service("ns", "b"));
    fake.compact();

    SECTION("as an ERROR event with a 410 Expired Status, as the real server does") {
        auto watch = client.start("/api/v1/services?watch=1&resourceVersion=" + old, true);
        REQUIRE(fx.run_until([&] { return watch->done; }));
        CHECK_FALSE(watch->error);
        CHECK(watch->status == 200);
        const auto events = watch->events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].at("type") == "ERROR");
        CHECK(events[0].at("object").at("kind") == "Status");
        CHECK(events[0].at("object").at("code") == 410);
        CHECK(events[0].at("object").at("reason") == "Expired");
        CHECK(events[0].at("object").at("message") ==
              "too old resource version: " + old + " (" +
                  std::to_string(fake.compacted_resource_version()) + ")");
    }

    SECTION("as a plain HTTP 410 when asked") {
        fake.set_expired_watch_as_http_410(true);
        auto call = client.get("/api/v1/services?watch=1&resourceVersion=" + old);
        CHECK(call->status == 410);
        CHECK(call->body().at("reason") == "Expired");
    }

    SECTION("the current resourceVersion is still watchable") {
        auto watch = client.start(
            "/api/v1/services?watch=1&resourceVersion=" + std::to_string(fake.resource_version()),
            true);
        REQUIRE(fx.run_until([&] { return watch->status == 200; }));
        fake.put_service(fake_service("ns", "c"));
        REQUIRE(fx.run_until([&] { return watch->events().size() == 1; }));
        CHECK(watch->events()[0].at("type") == "ADDED");
    }
}

TEST_CASE("fake kube api: scripted failures, stop and restart", "[integration][kubeapi]") {
    FakeKubeApi fake;
    LoopFixture fx;
    Client client(fx, fake);
    fake.put_service(fake_service("ns", "a"));

    SECTION("fail_next answers n requests with the status and Retry-After") {
        fake.fail_next(2, 429, 3);
        auto first = client.get("/api/v1/services");
        CHECK(first->status == 429);
        CHECK(first->exchange->response().head.headers.joined("retry-after") == "3");
        CHECK(first->body().at("reason") == "TooManyRequests");
        CHECK(first->body().at("details").at("retryAfterSeconds") == 3);
        CHECK(client.get("/api/v1/services?watch=1")->status == 429);
        CHECK(client.get("/api/v1/services")->status == 200);
        fake.fail_next(1, 500);
        auto internal = client.get("/api/v1/services");
        CHECK(internal->status == 500);
        CHECK(internal->body().at("reason") == "InternalError");
        CHECK_FALSE(internal->exchange->response().head.headers.contains("retry-after"));
        // Discovery is not affected.
        fake.fail_next(1, 503);
        CHECK(client.get("/version")->status == 200);
        CHECK(client.get("/api/v1/services")->status == 503);
    }

    SECTION("fail_next can aim at one verb and kind") {
        fake.fail_next(1, 429, 1, KubeVerb::Watch, KubeKind::Ingress);
        CHECK(client.get("/apis/networking.k8s.io/v1/ingresses")->status == 200);
        CHECK(client.get("/api/v1/services?watch=1&timeoutSeconds=1")->status == 200);
        CHECK(client.get("/apis/networking.k8s.io/v1/ingresses?watch=1")->status == 429);
        auto after = client.start("/apis/networking.k8s.io/v1/ingresses?watch=1", true);
        REQUIRE(fx.run_until([&] { return after->status != 0; }));
        CHECK(after->status == 200);
    }

    SECTION("clients that break off TLS, or do not speak it, do not hurt the server") {
        RawHttpClient garbage(fx.loop());
        garbage.connect(fake.port(), "GET / HTTP/1.1\r\n\r\n");
        REQUIRE(fx.run_until([&] { return garbage.ended(); }));
        RawHttpClient gone(fx.loop());
        gone.connect(fake.port(), std::string("\x16\x03\x01\x00\x05", 5));
        REQUIRE(fx.run_until([&] { return gone.connected(); }));
        gone.close();
        // Mid-handshake: the client's exchange is destroyed as soon as it has connected.
        auto cut = client.start("/api/v1/services", false);
        REQUIRE(fx.run_until([&] { return cut->exchange->times().connect_done_ns != 0; }));
        cut.reset();
        CHECK(client.get_json("/api/v1/services").at("items").size() == 1);
        CHECK(fake.wait_until([&] { return fake.connections_accepted() >= 4; },
                              std::chrono::milliseconds(5000)));
    }

    SECTION("stop refuses connections, restart serves the same store on the same port") {
        const auto port = fake.port();
        auto watch = client.start("/api/v1/services?watch=1&resourceVersion=0", true);
        REQUIRE(fx.run_until([&] { return watch->events().size() == 1; }));
        fake.stop();
        CHECK_FALSE(fake.running());
        REQUIRE(fx.run_until([&] { return watch->done; }));
        auto refused = client.get("/api/v1/services");
        REQUIRE(refused->error);
        CHECK(refused->error->kind == net::HttpErrorKind::Connect);
        REQUIRE(fake.restart());
        CHECK(fake.running());
        CHECK(fake.port() == port);
        CHECK(names_of(client.get_json("/api/v1/services")) == std::vector<std::string>{"ns/a"});
    }

    SECTION("destroying the fake with a watch open ends the client's stream") {
        auto other = std::make_unique<FakeKubeApi>();
        Client second(fx, *other);
        auto watch = second.start("/api/v1/services?watch=1", true);
        REQUIRE(fx.run_until([&] { return watch->status == 200; }));
        other.reset();
        REQUIRE(fx.run_until([&] { return watch->done; }));
    }
}

// The data chunks of a chunked body (the bytes after the head), in order; stops at the
// terminating chunk or where the bytes run out.
std::vector<std::string> chunks_of(const std::string& received, bool* ended) {
    std::vector<std::string> out;
    *ended = false;
    auto pos = received.find("\r\n\r\n");
    if (pos == std::string::npos) {
        return out;
    }
    pos += 4;
    while (true) {
        const auto line_end = received.find("\r\n", pos);
        if (line_end == std::string::npos) {
            return out;
        }
        const std::size_t size = std::stoul(received.substr(pos, line_end - pos), nullptr, 16);
        if (size == 0) {
            *ended = true;
            return out;
        }
        if (received.size() < line_end + 2 + size + 2) {
            return out;
        }
        out.push_back(received.substr(line_end + 2, size));
        pos = line_end + 2 + size + 2;
    }
}

TEST_CASE("fake kube api: chunk framing on the wire", "[integration][kubeapi]") {
    FakeKubeApiOptions options;
    options.tls = false;
    FakeKubeApi fake(options);
    LoopFixture fx;
    fake.put_service(fake_service("ns", "a"));
    const auto request = [&](const std::string& target) {
        return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
               fake.token() + "\r\n\r\n";
    };
    RawHttpClient raw(fx.loop());
    bool ended = false;

    SECTION("one chunk per event by default, each a JSON object and a newline") {
        raw.connect(fake.port(), request("/api/v1/services?watch=1&timeoutSeconds=1"));
        REQUIRE(fx.run_until([&] { return (chunks_of(raw.received(), &ended), ended); }));
        const auto chunks = chunks_of(raw.received(), &ended);
        REQUIRE(chunks.size() == 1);
        CHECK(chunks[0].back() == '\n');
        CHECK(json::parse(chunks[0]).at("type") == "ADDED");
        CHECK(raw.received().find("Transfer-Encoding: chunked") != std::string::npos);
    }

    SECTION("split: one event in four chunks") {
        fake.set_watch_framing(WatchFraming{4, 0, false});
        raw.connect(fake.port(), request("/api/v1/services?watch=1&timeoutSeconds=1"));
        REQUIRE(fx.run_until([&] { return (chunks_of(raw.received(), &ended), ended); }));
        const auto chunks = chunks_of(raw.received(), &ended);
        REQUIRE(chunks.size() == 4);
        const std::string joined = chunks[0] + chunks[1] + chunks[2] + chunks[3];
        CHECK(chunks[0].find('\n') == std::string::npos);
        CHECK(joined.back() == '\n');
        CHECK(json::parse(joined).at("object").at("metadata").at("name") == "a");
    }

    SECTION("keep-alive: the next request on the connection after the watch ended") {
        raw.connect(fake.port(),
                    request("/api/v1/services?watch=1&timeoutSeconds=1") + request("/version"));
        REQUIRE(
            fx.run_until([&] { return raw.received().find("gitVersion") != std::string::npos; }));
        CHECK(fake.total_requests() == 2);
    }
}

TEST_CASE("fake kube api: plain HTTP when asked", "[integration][kubeapi]") {
    FakeKubeApiOptions options;
    options.tls = false;
    FakeKubeApi fake(options);
    LoopFixture fx;
    CHECK(fake.url() == "http://127.0.0.1:" + std::to_string(fake.port()));
    net::HttpExchange exchange(fx.loop());
    bool done = false;
    net::HttpExchangeOptions o;
    o.address = *net::IpAddress::parse("127.0.0.1");
    o.port = fake.port();
    net::HttpClientRequest request;
    request.target = "/api/v1/services";
    request.headers.add("Host", "127.0.0.1");
    request.headers.add("Authorization", "Bearer " + fake.token());
    exchange.start(std::move(o), std::move(request),
                   [&](std::optional<net::HttpError>) { done = true; });
    REQUIRE(fx.run_until([&] { return done; }));
    CHECK(exchange.response().head.status == 200);
    CHECK(json::parse(exchange.response().body).at("kind") == "ServiceList");
}

}  // namespace
}  // namespace sonde::test

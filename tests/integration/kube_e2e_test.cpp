// sonde as an in-cluster prober, end to end: the sonde binary watches the fake Kubernetes API,
// resolves Service names through a real dnsmasq (--resolver.nameserver), probes real loopback
// servers (and a real nginx for Ingresses, on ports 80 and 443 as root), and shows per-object
// series on /metrics, which follow the objects through updates, deletions, an API restart,
// 500/429 answers and a forced 410 relist.

#include <atomic>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "prober/net/http_response.hpp"
#include "tests/support/fake_kube_api.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_http_server.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

using Clock = std::chrono::steady_clock;

// Polls /metrics until `done` holds or 15 s pass (a hang guard, not a timing assertion); the
// time it took is printed, as the delay from an API event to the first probe.
test::Samples wait_for(std::uint16_t port, const char* what,
                       const std::function<bool(const test::Samples&)>& done) {
    const auto start = Clock::now();
    for (;;) {
        auto samples = test::scrape_metrics(port);
        const auto elapsed = Clock::now() - start;
        if (done(samples)) {
            WARN(what << " after "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                      << " ms");
            return samples;
        }
        if (elapsed > std::chrono::seconds(15)) {
            FAIL("gave up waiting: " << what);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

nlohmann::json e2e_service(const std::string& name, std::uint16_t port,
                           nlohmann::json annotations = nlohmann::json::object()) {
    return {{"metadata", {{"name", name}, {"namespace", "shop"}, {"annotations", annotations}}},
            {"spec", {{"ports", {{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}}}}}};
}

std::string success_of(const std::string& module, const std::string& target,
                       const std::string& kind, const std::string& name) {
    return "probe_success{kind=\"" + kind + "\",module=\"" + module + "\",name=\"" + name +
           "\",namespace=\"shop\",target=\"" + target + "\"}";
}

}  // namespace

TEST_CASE("annotated Services and Ingresses are probed, and follow the API",
          "[integration][kube][e2e]") {
    test::FakeKubeApi api;
    test::TempDir dir;
    const std::string kubeconfig = dir.write("kubeconfig", api.kubeconfig());

    // Every *.svc and *.test name is 127.0.0.1, as cluster DNS would answer for a Service.
    const std::uint16_t dns_port = test::free_port();
    test::SondeProcess dnsmasq(
        {"/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null",
         "--pid-file=", "--port=" + std::to_string(dns_port), "--listen-address=127.0.0.1",
         "--bind-interfaces", "--no-resolv", "--no-hosts", "--log-facility=-",
         "--address=/svc/127.0.0.1", "--address=/test/127.0.0.1"},
        "started", dns_port);

    std::atomic<int> health_checks{0};
    test::ThreadedHttpServer web([&](const net::HttpRequest& request) {
        net::HttpResponse response;
        response.status = request.path == "/healthz" ? 200 : 404;
        health_checks += request.path == "/healthz" ? 1 : 0;
        response.body = "ok\n";
        return response;
    });
    test::ThreadedTcpServer db("db ready\n");

    // Ingresses have no port: they need 80 and 443, which only root may bind.
    const bool ingresses = ::geteuid() == 0 && test::NginxServer::available();
    std::unique_ptr<test::NginxServer> nginx;
    std::string ca_file = "/dev/null";
    if (ingresses) {
        nginx = std::make_unique<test::NginxServer>(80, 443);
        ca_file = nginx->ca_file();
    } else {
        WARN("not root or no nginx: the Ingress part is skipped");
    }

    const std::string config = dir.write("sonde.yml", R"(modules:
  http_2xx:
    prober: http
    timeout: 2s
    http: {preferred_ip_protocol: ip4}
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp: {preferred_ip_protocol: ip4}
  https_ca:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      tls_config: {ca_file: )" + ca_file + R"(}
discovery:
  kubernetes:
    kubeconfig: )" + kubeconfig + R"(
    interval: 1s
)");
    test::SondeProcess sonde(
        {"--config.file=" + config, "--resolver.nameserver=127.0.0.1:" + std::to_string(dns_port)});
    const std::uint16_t port = sonde.port();
    wait_for(port, "discovery healthy", [](const test::Samples& s) {
        return s.count("sonde_discovery_healthy{source=\"kubernetes\"}") &&
               s.at("sonde_discovery_healthy{source=\"kubernetes\"}") == 1;
    });

    // An annotated Service with a path override, one with a module override, one not opted in.
    const std::string web_target = "http://web.shop.svc:" + std::to_string(web.port()) + "/healthz";
    const std::string db_target = "db.shop.svc:" + std::to_string(db.port());
    const std::string web_up = success_of("http_2xx", web_target, "Service", "web");
    const std::string db_up = success_of("tcp_connect", db_target, "Service", "db");
    api.put_service(e2e_service("hidden", web.port()));
    api.put_service(e2e_service("web", web.port(),
                                {{"prometheus.io/probe", "true"}, {"sonde.io/path", "/healthz"}}));
    auto samples = wait_for(port, "first probe of an annotated Service",
                            [&](const test::Samples& s) { return s.count(web_up) != 0; });
    CHECK(samples.at(web_up) == 1);
    CHECK(health_checks.load() >= 1);
    api.put_service(e2e_service(
        "db", db.port(), {{"prometheus.io/probe", "true"}, {"sonde.io/module", "tcp_connect"}}));
    samples = wait_for(port, "first probe of a Service with a module override",
                       [&](const test::Samples& s) { return s.count(db_up) != 0; });
    CHECK(samples.at(db_up) == 1);
    CHECK(samples.at("sonde_scheduled_targets") == 2);

    int expected_targets = 2;
    if (ingresses) {
        api.put_ingress(
            {{"metadata",
              {{"name", "shop"},
               {"namespace", "shop"},
               {"annotations", {{"prometheus.io/probe", "true"}}}}},
             {"spec",
              {{"rules",
                {{{"host", "shop.test"},
                  {"http", {{"paths", {{{"path", "/ok"}, {"pathType", "Prefix"}}}}}}}}}}}});
        api.put_ingress(
            {{"metadata",
              {{"name", "secure"},
               {"namespace", "shop"},
               {"annotations",
                {{"prometheus.io/probe", "true"}, {"sonde.io/module", "https_ca"}}}}},
             {"spec",
              {{"tls", {{{"hosts", {"localhost"}}}}},
               {"rules",
                {{{"host", "localhost"},
                  {"http", {{"paths", {{{"path", "/ok"}, {"pathType", "Prefix"}}}}}}}}}}}});
        const std::string http_up =
            success_of("http_2xx", "http://shop.test/ok", "Ingress", "shop");
        const std::string https_up =
            success_of("https_ca", "https://localhost/ok", "Ingress", "secure");
        samples = wait_for(port, "first probes of an http and an https Ingress",
                           [&](const test::Samples& s) {
                               return s.count(http_up) != 0 && s.count(https_up) != 0;
                           });
        CHECK(samples.at(http_up) == 1);
        CHECK(samples.at(https_up) == 1);
        expected_targets += 2;
    }

    // Deleting an object takes its series away.
    REQUIRE(api.delete_object(test::KubeKind::Service, "shop", "web"));
    samples = wait_for(port, "series of a deleted Service gone",
                       [&](const test::Samples& s) { return s.count(web_up) == 0; });
    --expected_targets;
    CHECK(samples.at("sonde_scheduled_targets") == expected_targets);

    // The API going away keeps the last known targets probed.
    api.stop();
    samples =
        wait_for(port, "discovery unhealthy while the API is down", [](const test::Samples& s) {
            return s.at("sonde_discovery_healthy{source=\"kubernetes\"}") == 0;
        });
    CHECK(samples.at("sonde_scheduled_targets") == expected_targets);
    CHECK(samples.count(db_up) == 1);

    // While it is down, db goes away and web comes back; after the restart the relist (the
    // fake forgot its history: 410) turns that into a deletion and an addition.
    REQUIRE(api.delete_object(test::KubeKind::Service, "shop", "db"));
    api.put_service(e2e_service("web", web.port(),
                                {{"prometheus.io/probe", "true"}, {"sonde.io/path", "/healthz"}}));
    api.compact();
    REQUIRE(api.restart());
    samples = wait_for(
        port, "targets right after an API restart with a 410",
        [&](const test::Samples& s) { return s.count(db_up) == 0 && s.count(web_up) != 0; });
    CHECK(samples.at("sonde_scheduled_targets") == expected_targets);

    // 500s and 429s on the next requests, and watches closed: the targets stay right and
    // nothing is scheduled twice.
    api.fail_next(3, 500);
    api.close_watches();
    api.fail_next(2, 429, 1);
    api.close_watches();
    samples = wait_for(port, "discovery healthy again after 500, 429 and closed watches",
                       [](const test::Samples& s) {
                           return s.at("sonde_discovery_healthy{source=\"kubernetes\"}") == 1;
                       });
    CHECK(samples.at("sonde_scheduled_targets") == expected_targets);
    CHECK(samples.at("sonde_known_targets") == expected_targets);
    CHECK(samples.count(web_up) == 1);
}

}  // namespace sonde

// The exporter's endpoints in-process: a real Exporter and HttpServer on the test's loop, a raw
// HTTP client, and loopback targets.
#include "prober/app/exporter.hpp"

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "prober/net/resolver.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/scripted_tcp_server.hpp"

namespace sonde {
namespace {

constexpr const char* kExporterModules = R"yaml(modules:
  tcp_connect:
    prober: tcp
  http_2xx:
    prober: http
  http_host:
    prober: http
    http:
      headers:
        Host: configured.example
  grpc_check:
    prober: grpc
  expect_ok:
    prober: tcp
    timeout: 3s
    tcp:
      query_response:
      - expect: "^OK"
)yaml";

// One Exporter with its collaborators, as the App wires them.
struct ExporterFixture {
    test::LoopFixture fx;
    std::unique_ptr<net::Resolver> resolver;
    app::Flags flags;
    Logger logger{LogLevel::Error, false, nullptr};
    app::SelfMetrics metrics;
    std::shared_ptr<const app::RuntimeConfig> runtime;
    std::unique_ptr<app::Exporter> exporter;
    int reloads = 0;

    ExporterFixture() {
        auto r = net::Resolver::create(fx.loop());
        REQUIRE(r.has_value());
        resolver = std::move(*r);
        flags.listen_addresses = {"127.0.0.1:0"};
        auto loaded = config::load_config_text(kExporterModules, "test.yml");
        REQUIRE(loaded.has_value());
        auto built = app::build_runtime(loaded->config);
        REQUIRE(built.has_value());
        runtime = *built;
        exporter = std::make_unique<app::Exporter>(
            fx.loop(), *resolver, flags, logger, metrics,
            app::Exporter::Hooks{[this] { return runtime; },
                                 [this]() -> Result<void> {
                                     ++reloads;
                                     return unexpected("bad.yml:1:1: nope");
                                 },
                                 {},
                                 {},
                                 {}});
        REQUIRE(exporter->listen().has_value());
    }

    // Sends one GET and runs the loop until its response arrived.
    test::RawResponse get(const std::string& target, const std::string& headers = {}) {
        test::RawHttpClient client(fx.loop());
        client.connect(exporter->bound_port(), test::get_request(target, headers));
        REQUIRE(fx.run_until([&] { return !client.responses().empty() || client.ended(); }));
        REQUIRE_FALSE(client.responses().empty());
        return client.responses().front();
    }

    int close() {
        exporter.reset();
        resolver.reset();
        return fx.close();
    }
};

TEST_CASE("probe parameter errors answer 4xx with the reason", "[integration][exporter]") {
    ExporterFixture f;
    auto r = f.get("/probe?module=nope&target=127.0.0.1:1");
    CHECK(r.status == 400);
    CHECK(r.body == "Unknown module \"nope\"\n");
    r = f.get("/probe?module=tcp_connect");
    CHECK(r.status == 400);
    CHECK(r.body == "Target parameter is missing\n");
    r = f.get("/probe?module=tcp_connect&target=127.0.0.1:1",
              "X-Prometheus-Scrape-Timeout-Seconds: soon\r\n");
    CHECK(r.status == 500);
    CHECK(r.body.find("Failed to parse timeout from Prometheus header") == 0);
    r = f.get("/probe?target=%zz");
    CHECK(r.status == 400);
    const auto metrics = test::parse_samples(f.get("/metrics").body);
    CHECK(metrics.at("blackbox_module_unknown_total") == 1);
    REQUIRE(f.close() == 0);
}

TEST_CASE("a grpc probe of a closed port shows the call's status on the debug page",
          "[integration][exporter][grpc]") {
    ExporterFixture f;
    const auto r = f.get("/probe?module=grpc_check&target=127.0.0.1:1&debug=true");
    CHECK(r.status == 200);
    CHECK(r.body.find("can't connect grpc server:") != std::string::npos);
    CHECK(r.body.find("code = UNAVAILABLE") != std::string::npos);
    CHECK(r.body.find("\nprobe_grpc_status_code 14\n") != std::string::npos);
    CHECK(r.body.find("\nprobe_success 0\n") != std::string::npos);
    REQUIRE(f.close() == 0);
}

TEST_CASE("a hostname parameter that conflicts with a configured Host header answers 400",
          "[integration][exporter][http]") {
    ExporterFixture f;
    auto r = f.get("/probe?module=http_host&target=127.0.0.1:1&hostname=other.example");
    CHECK(r.status == 400);
    CHECK(r.body ==
          "host header defined both in module configuration (configured.example) and with "
          "URL-parameter 'hostname' (other.example)\n");
    // The same value is no conflict: the probe runs (and fails to connect to port 1).
    r = f.get("/probe?module=http_host&target=127.0.0.1:1&hostname=configured.example");
    CHECK(r.status == 200);
    CHECK(r.body.find("\nprobe_success 0\n") != std::string::npos);
    REQUIRE(f.close() == 0);
}

TEST_CASE("probe results, debug output, history and logs", "[integration][exporter]") {
    ExporterFixture f;
    test::ScriptedTcpServer server(f.fx.loop());
    const std::string query = "/probe?module=tcp_connect&target=" + server.address();

    auto r = f.get(query, "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n");
    CHECK(r.status == 200);
    auto samples = test::parse_samples(r.body);
    CHECK(samples.at("probe_success") == 1);
    CHECK(samples.at("probe_timeout_seconds") == 9.5);

    r = f.get(query + "&debug=true");
    CHECK(r.body.rfind("Logs for the probe:\n", 0) == 0);
    CHECK(r.body.find("\n\n\nMetrics that would have been returned:\n") != std::string::npos);
    CHECK(r.body.find("\n\n\nModule configuration:\nprober: tcp\n") != std::string::npos);
    CHECK(r.body.find("msg=\"Beginning probe\"") != std::string::npos);

    r = f.get("/logs?id=1");
    CHECK(r.status == 200);
    CHECK(r.body.rfind("Logs for the probe:\n", 0) == 0);
    CHECK(f.get("/logs?target=" + server.address() + "&module=tcp_connect").status == 200);
    CHECK(f.get("/logs?id=99").status == 404);
    CHECK(f.get("/logs?id=1&target=x").status == 400);
    CHECK(f.get("/logs").status == 400);

    const auto page = f.get("/");
    CHECK(page.body.find("<td>tcp_connect</td>") != std::string::npos);
    CHECK(page.body.find("logs?id=1") != std::string::npos);
    CHECK(f.get("/nonexistent").status == 404);
    CHECK(f.get("/-/healthy").body == "Healthy");
    server.stop();
    REQUIRE(f.close() == 0);
}

TEST_CASE("reload failures answer 500 with the reason", "[integration][exporter]") {
    ExporterFixture f;
    test::RawHttpClient client(f.fx.loop());
    client.connect(f.exporter->bound_port(),
                   "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(f.fx.run_until([&] { return !client.responses().empty(); }));
    CHECK(client.responses().front().status == 500);
    CHECK(client.responses().front().body == "failed to reload config: bad.yml:1:1: nope\n");
    CHECK(f.reloads == 1);
    CHECK(f.get("/-/reload").status == 405);
    client.close();
    REQUIRE(f.close() == 0);
}

TEST_CASE("a client that disconnects mid-probe cancels its probe", "[integration][exporter]") {
    ExporterFixture f;
    test::ScriptedTcpServer silent(f.fx.loop());
    test::RawHttpClient client(f.fx.loop());
    client.connect(f.exporter->bound_port(),
                   test::get_request("/probe?module=expect_ok&target=" + silent.address()));
    // The probe is in flight once the target has accepted its connection.
    REQUIRE(f.fx.run_until([&] { return silent.accepted() == 1; }));
    CHECK(f.exporter->inflight() == 1);
    client.close();
    REQUIRE(f.fx.run_until([&] { return f.exporter->inflight() == 0; }));
    const auto metrics = test::parse_samples(f.get("/metrics").body);
    CHECK(metrics.at("sonde_inflight_probes") == 0);
    CHECK(metrics.at("sonde_probes_total{module=\"expect_ok\",result=\"cancelled\"}") == 1);
    silent.stop();
    REQUIRE(f.close() == 0);
}

TEST_CASE("stopping the exporter cancels probes in flight", "[integration][exporter]") {
    ExporterFixture f;
    test::ScriptedTcpServer silent(f.fx.loop());
    test::RawHttpClient client(f.fx.loop());
    client.connect(f.exporter->bound_port(),
                   test::get_request("/probe?module=expect_ok&target=" + silent.address()));
    REQUIRE(f.fx.run_until([&] { return silent.accepted() == 1; }));
    f.exporter->stop();
    CHECK(f.exporter->inflight() == 0);
    client.close();
    silent.stop();
    REQUIRE(f.close() == 0);
}

}  // namespace
}  // namespace sonde

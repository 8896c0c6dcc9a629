// The module's TLS client context is built once per config (module_runtime) and shared by every
// probe of the module. A reload drops the old runtime while its probes are still in flight:
// each probe keeps the context alive until its handshake and the metrics from the chain are
// done. ASan (the sanitized CI run) proves nothing reads a freed SSL_CTX.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "prober/app/module_runtime.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

TEST_CASE("a module's shared TLS context outlives a reload while its probes run",
          "[integration][tls][reload]") {
    test::LoopFixture fx;
    auto resolver = net::Resolver::create(fx.loop());
    REQUIRE(resolver.has_value());
    const test::TestCert ca = test::make_ca("sonde reload test CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    auto loaded = config::load_config_text(std::string(R"yaml(modules:
  https:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      tls_config:
        ca_file: )yaml") + ca_file.path() + "\n",
                                           "test.yml");
    REQUIRE(loaded);
    {
        test::ScriptedTcpServer server(
            fx.loop(), {}, [](test::ScriptedTcpServer::Connection& conn, std::string_view line) {
                if (line.empty()) {
                    conn.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                }
            });
        auto server_ctx = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
        REQUIRE(server_ctx);
        server.use_tls(*server_ctx);
        const std::string target = "https://localhost:" + std::to_string(server.port()) + "/";

        auto runtime = app::build_runtime(loaded->config);
        REQUIRE(runtime);
        std::weak_ptr<const net::TlsClientContext> context = (*runtime)->tls_for("https");
        REQUIRE_FALSE(context.expired());

        constexpr int kProbes = 8;
        std::vector<std::optional<app::ProbeReport>> reports(kProbes);
        std::vector<std::unique_ptr<app::ProbeRun>> runs;
        for (int i = 0; i < kProbes; ++i) {
            app::ProbeRequest request;
            request.config = (*runtime)->config;
            request.module_name = "https";
            request.target = target;
            request.timeout_seconds = 5;
            request.tls = (*runtime)->tls_for("https");
            runs.push_back(app::ProbeRun::start(
                app::ProbeEnvironment{fx.loop(), **resolver}, std::move(request),
                [&reports, i](app::ProbeReport r) { reports[i] = std::move(r); }));
        }
        // The reload: the old runtime goes; only the probes in flight hold its context now.
        runtime->reset();
        REQUIRE_FALSE(context.expired());

        SECTION("the probes finish with the released context") {
            REQUIRE(fx.run_until([&] {
                for (const auto& r : reports) {
                    if (!r) {
                        return false;
                    }
                }
                return true;
            }));
            for (const auto& r : reports) {
                INFO(r->log);
                CHECK(r->success);
                CHECK(test::metric_value(*r->registry, "probe_http_ssl") == 1);
            }
            // Finished sessions are deleted on a later loop iteration (defer_delete), and with
            // the last of them the context.
            runs.clear();
            CHECK(fx.run_until([&] { return context.expired(); }));
        }
        SECTION("the probes are destroyed while connecting or mid-handshake") {
            // Run until at least one probe has started its handshake, then cancel all.
            REQUIRE(fx.run_until([&] { return server.accepted() > 0; }));
            runs.clear();
            CHECK(fx.run_until([&] { return context.expired(); }));
        }
    }
    resolver->reset();
    REQUIRE(fx.close() == 0);
}

}  // namespace
}  // namespace sonde

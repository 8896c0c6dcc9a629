// deploy/prometheus: promtool accepts the scrape configs and the alert rules, and every metric
// the rules use is one that sonde really exports (read off a running sonde, not a list).

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/fake_kube_api.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

const std::string kDir = std::string(SONDE_SOURCE_DIR) + "/deploy/prometheus/";

std::string read(const std::string& path) {
    std::ifstream file(path);
    REQUIRE(file);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string metric_name(const std::string& sample) {
    return sample.substr(0, sample.find('{'));
}

}  // namespace

TEST_CASE("promtool accepts deploy/prometheus's scrape configs and rules",
          "[integration][deploy]") {
    for (const char* file : {"scrape-scheduled.yml", "scrape-sd.yml"}) {
        const auto result =
            test::run_command({"/usr/bin/promtool", "check", "config", kDir + file});
        INFO(file << ": " << result.output);
        CHECK(result.exit_code == 0);
    }
    // Debian's promtool has no kubernetes_sd_configs: the classic recipe is checked with
    // static_configs in their place, relabelling and all.
    test::TempDir dir;
    std::string recipe = read(kDir + "scrape-probe-kubernetes.yml");
    recipe = replace_all(recipe, "kubernetes_sd_configs:\n      - role: service",
                         "static_configs:\n      - targets: ['web.shop.svc:80']");
    recipe = replace_all(recipe, "kubernetes_sd_configs:\n      - role: ingress",
                         "static_configs:\n      - targets: ['shop.example']");
    REQUIRE(recipe.find("- role:") == std::string::npos);
    const auto b =
        test::run_command({"/usr/bin/promtool", "check", "config", dir.write("b.yml", recipe)});
    INFO(b.output);
    CHECK(b.exit_code == 0);
    const auto rules =
        test::run_command({"/usr/bin/promtool", "check", "rules", kDir + "rules.yml"});
    INFO(rules.output);
    CHECK(rules.exit_code == 0);
}

TEST_CASE("every metric the alert rules use is exported by sonde", "[integration][deploy]") {
    // A sonde with everything the rules look at: a passing and a failing scheduled target,
    // Kubernetes discovery (against the fake API), and an https probe for the certificate.
    test::FakeKubeApi api;
    test::ThreadedTcpServer up("hello\n");
    test::NginxServer nginx;
    test::TempDir dir;
    const std::string kubeconfig = dir.write("kubeconfig", api.kubeconfig());
    const std::string config =
        dir.write("sonde.yml",
                  "modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 2s\n"
                  "  https_ca:\n    prober: http\n    http:\n      tls_config: {ca_file: " +
                      nginx.ca_file() +
                      "}\n"
                      "targets:\n  - module: tcp_connect\n    interval: 1s\n    targets: ['" +
                      up.address() +
                      "', '127.0.0.1:1']\n"
                      "discovery:\n  kubernetes:\n    kubeconfig: " +
                      kubeconfig +
                      "\n    service_module: tcp_connect\n"
                      "    ingress_module: tcp_connect\n");
    test::SondeProcess sonde({"--config.file=" + config});

    std::set<std::string> exported;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (exported.count("sonde_target_failure_reason") == 0 ||
           exported.count("sonde_target_probe_duration_seconds_bucket") == 0) {
        REQUIRE(std::chrono::steady_clock::now() < give_up);
        const auto reply = test::http_request(sonde.port(), "GET", "/metrics");
        for (const auto& [sample, value] : test::parse_samples(reply.body)) {
            exported.insert(metric_name(sample));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const auto probe = test::http_request(
        sonde.port(), "GET", "/probe?module=https_ca&target=" + nginx.https_url("/ok"));
    for (const auto& [sample, value] : test::parse_samples(probe.body)) {
        exported.insert(metric_name(sample));
    }

    const std::string rules = read(kDir + "rules.yml");
    const std::regex name(R"(\b(probe|sonde)_[a-z_]+)");
    std::set<std::string> used;
    for (auto it = std::sregex_iterator(rules.begin(), rules.end(), name);
         it != std::sregex_iterator(); ++it) {
        used.insert(it->str());
    }
    REQUIRE(used.size() >= 6);
    for (const auto& metric : used) {
        INFO("the rules use " << metric);
        CHECK(exported.count(metric) == 1);
    }
}

}  // namespace sonde

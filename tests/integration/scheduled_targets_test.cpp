// The sonde binary with a `targets:` section: scheduled probes show up on /metrics with their
// labels, /sd lists them, a reload drops a removed target's series, and two sharded replicas
// split the targets.

#include <csignal>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/metrics_parse.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

std::string config_with(const std::string& targets) {
    return "modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 2s\n" + targets;
}

// Polls /metrics until `done` holds: scheduled runs happen on sonde's own clock. The bound
// (15 s) is a hang guard, not a timing assertion.
test::Samples scrape_until(std::uint16_t port,
                           const std::function<bool(const test::Samples&)>& done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
        auto samples = test::scrape_metrics(port);
        if (done(samples) || std::chrono::steady_clock::now() > give_up) {
            return samples;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace

TEST_CASE("static targets are probed on schedule and shown on /metrics and /sd",
          "[integration][scheduler]") {
    test::ThreadedTcpServer server("hello\n");
    test::TempDir dir;
    const std::string file =
        dir.write("sonde.yml", config_with("targets:\n  - module: tcp_connect\n    interval: 1s\n"
                                           "    labels: {team: web}\n    targets: ['" +
                                           server.address() + "', '127.0.0.1:1']\n"));
    test::SondeProcess sonde({"--config.file=" + file});
    const std::string up =
        "{module=\"tcp_connect\",target=\"" + server.address() + "\",team=\"web\"}";
    const std::string down = "{module=\"tcp_connect\",target=\"127.0.0.1:1\",team=\"web\"}";
    auto samples = scrape_until(sonde.port(), [&](const test::Samples& s) {
        return s.count("probe_success" + up) && s.count("probe_success" + down);
    });
    CHECK(samples.at("probe_success" + up) == 1);
    CHECK(samples.at("probe_success" + down) == 0);
    CHECK(samples.at("sonde_scheduled_targets") == 2);
    const std::string reason =
        "sonde_target_failure_reason{module=\"tcp_connect\",reason=\"connect\",target=\"127.0.0."
        "1:1\",team=\"web\"}";
    CHECK(samples.at(reason) == 1);
    // The scheduler says how late runs started and how busy its loop is.
    CHECK(samples.at("sonde_scheduler_lag_seconds_count") >= 2);
    // The loop is sampled every second: wait for the first sample.
    const auto loop = scrape_until(sonde.port(), [](const test::Samples& s) {
        return s.at("sonde_event_loop_idle_seconds_total") > 0;
    });
    CHECK(loop.at("sonde_event_loop_idle_seconds_total") > 0);
    CHECK(loop.at("sonde_event_loop_utilization") > 0);
    CHECK(loop.at("sonde_event_loop_utilization") < 1);

    const auto sd = test::http_request(sonde.port(), "GET", "/sd");
    REQUIRE(sd.status == 200);
    const auto groups = nlohmann::json::parse(sd.body);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0]["labels"]["__param_module"] == "tcp_connect");
    CHECK(groups[0]["labels"]["team"] == "web");

    // Reload without the failing target: its series are gone from the next scrape.
    dir.write("sonde.yml", config_with("targets:\n  - module: tcp_connect\n    interval: 1s\n"
                                       "    labels: {team: web}\n    targets: ['" +
                                       server.address() + "']\n"));
    const auto reload = test::http_request(sonde.port(), "POST", "/-/reload");
    REQUIRE(reload.status == 200);
    samples = test::scrape_metrics(sonde.port());
    CHECK(samples.count("probe_success" + down) == 0);
    CHECK(samples.count("sonde_target_probes_total{module=\"tcp_connect\",result=\"failure\","
                        "target=\"127.0.0.1:1\",team=\"web\"}") == 0);
    CHECK(samples.at("probe_success" + up) == 1);
    CHECK(samples.at("sonde_scheduled_targets") == 1);
}

TEST_CASE("two sharded replicas probe each target exactly once between them",
          "[integration][scheduler]") {
    test::TempDir dir;
    std::string targets = "targets:\n  - module: tcp_connect\n    interval: 1h\n    targets:\n";
    for (int i = 1; i <= 30; ++i) {
        targets += "      - 127.0.0.1:" + std::to_string(i) + "\n";
    }
    const std::string file = dir.write("sonde.yml", config_with(targets));
    test::SondeProcess first({"--config.file=" + file, "--shard.count=2", "--shard.index=0"});
    test::SondeProcess second({"--config.file=" + file, "--shard.count=2", "--shard.index=1"});
    const auto a = test::scrape_metrics(first.port());
    const auto b = test::scrape_metrics(second.port());
    CHECK(a.at("sonde_known_targets") == 30);
    CHECK(b.at("sonde_known_targets") == 30);
    CHECK(a.at("sonde_scheduled_targets") + b.at("sonde_scheduled_targets") == 30);
    CHECK(a.at("sonde_scheduled_targets") > 0);
    CHECK(b.at("sonde_scheduled_targets") > 0);
}

TEST_CASE("a shard index beyond the count is refused at startup", "[integration][scheduler]") {
    test::TempDir dir;
    const std::string file = dir.write("sonde.yml", config_with(""));
    const auto result = test::run_command(
        {SONDE_BINARY, "--config.file=" + file, "--shard.count=2", "--shard.index=2"});
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("--shard.index=2 must be below --shard.count=2") != std::string::npos);
}

}  // namespace sonde

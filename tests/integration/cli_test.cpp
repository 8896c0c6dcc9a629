// The sonde binary as a user runs it: flags, exit codes, config handling, signals.
#include <csignal>
#include <sstream>

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/silent_listener.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde {
namespace {

const std::string kConformance = std::string(SONDE_TESTDATA_DIR) + "/conformance/";

TEST_CASE("sonde --version names the program and exits 0", "[integration][cli]") {
    const auto result = test::run_command({SONDE_BINARY, "--version"});
    CHECK(result.exit_code == 0);
    CHECK(result.output.rfind("sonde, version ", 0) == 0);
    // The revision is the checkout's HEAD, read at build time: never the one of an earlier
    // configure.
    const auto head =
        test::run_command({"/usr/bin/git", "-C", SONDE_SOURCE_DIR, "rev-parse", "--short", "HEAD"});
    if (head.exit_code == 0 && !head.output.empty()) {
        const std::string revision = head.output.substr(0, head.output.find('\n'));
        CHECK(result.output.find("(revision: " + revision + ")") != std::string::npos);
    } else {
        WARN("not a git checkout: the revision is not checked");
    }
}

TEST_CASE("sonde -h prints the flags and exits 0", "[integration][cli]") {
    const auto result = test::run_command({SONDE_BINARY, "-h"});
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("--config.file") != std::string::npos);
    CHECK(result.output.find("--web.listen-address") != std::string::npos);
}

TEST_CASE("bad and unsupported flags exit 1 saying why", "[integration][cli]") {
    auto result = test::run_command({SONDE_BINARY, "--no-such-flag"});
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("unknown long flag '--no-such-flag'") != std::string::npos);
    result = test::run_command({SONDE_BINARY, "--web.systemd-socket"});
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("flag --web.systemd-socket is not supported yet") !=
          std::string::npos);
}

TEST_CASE("config.check accepts a good file and rejects a bad one with its position",
          "[integration][cli]") {
    auto result = test::run_command(
        {SONDE_BINARY, "--config.check", "--config.file=" + kConformance + "blackbox-good.yml"});
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("Config file is ok exiting...") != std::string::npos);

    result = test::run_command(
        {SONDE_BINARY, "--config.check", "--config.file=" + kConformance + "blackbox-bad.yml"});
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("blackbox-bad.yml:50:") != std::string::npos);
    CHECK(result.output.find("invalid_extra_field") != std::string::npos);
}

TEST_CASE("an explicitly named config file that is missing is an error", "[integration][cli]") {
    const auto result =
        test::run_command({SONDE_BINARY, "--config.check", "--config.file=/nonexistent/b.yml"});
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("/nonexistent/b.yml") != std::string::npos);
}

TEST_CASE("without blackbox.yml sonde serves the built-in modules", "[integration][cli]") {
    test::TempDir dir;
    test::SondeProcess sonde({}, dir.path());
    CHECK(sonde.output().find("using the built-in modules") != std::string::npos);
    const auto config = test::http_request(sonde.port(), "GET", "/config");
    CHECK(config.status == 200);
    CHECK(config.body.find("http_2xx:") != std::string::npos);
    CHECK(config.body.find("tcp_connect:") != std::string::npos);
    CHECK(test::http_request(sonde.port(), "GET", "/-/healthy").body == "Healthy");
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
}

TEST_CASE("a tcp probe through the running binary", "[integration][cli]") {
    test::TempDir dir;
    test::SondeProcess sonde({}, dir.path());
    // sonde probes its own listener: a real TCP server that is certainly up.
    auto ok = test::http_request(
        sonde.port(), "GET",
        "/probe?module=tcp_connect&target=127.0.0.1:" + std::to_string(sonde.port()));
    CHECK(ok.status == 200);
    CHECK(ok.body.find("\nprobe_success 1\n") != std::string::npos);
    CHECK(ok.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
    const auto metrics = test::http_request(sonde.port(), "GET", "/metrics");
    CHECK(metrics.body.find("sonde_probes_total{module=\"tcp_connect\",result=\"success\"} 1") !=
          std::string::npos);
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
}

TEST_CASE("with --log.format=json every line sonde logs is JSON, probe lines too",
          "[integration][cli]") {
    test::TempDir dir;
    test::SondeProcess sonde(
        {SONDE_BINARY, "--log.format=json",
         "--config.file=" + dir.write("sonde.yml", "modules:\n  tcp_connect:\n    prober: tcp\n"),
         "--web.listen-address=127.0.0.1:0"},
        R"re("msg":"Listening on".*"address":"127\.0\.0\.1:([0-9]+)")re", 0);
    // Port 1 on loopback refuses: the probe fails and its lines reach the process log.
    const auto reply =
        test::http_request(sonde.port(), "GET", "/probe?module=tcp_connect&target=127.0.0.1:1");
    CHECK(reply.status == 200);
    CHECK(reply.body.find("probe_success 0") != std::string::npos);
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);

    std::istringstream lines(sonde.output());
    std::string line;
    bool probe_failed = false;
    while (std::getline(lines, line)) {
        INFO(line);
        const auto object = nlohmann::json::parse(line, nullptr, false);
        REQUIRE(object.is_object());
        if (object.value("msg", "") == "Probe failed") {
            probe_failed = true;
            CHECK(object.value("module", "") == "tcp_connect");
            CHECK(object.value("target", "") == "127.0.0.1:1");
        }
    }
    CHECK(probe_failed);
}

TEST_CASE("reload keeps the running config when the new file is bad", "[integration][cli]") {
    test::TempDir dir;
    const std::string file = dir.write("sonde.yml", "modules:\n  one:\n    prober: tcp\n");
    test::SondeProcess sonde({"--config.file=" + file});

    dir.write("sonde.yml", "modules:\n  two:\n    prober: tcp\n    bogus: 1\n");
    auto reply = test::http_request(sonde.port(), "POST", "/-/reload");
    CHECK(reply.status == 500);
    CHECK(reply.body.find("failed to reload config: ") == 0);
    CHECK(reply.body.find("sonde.yml:4:5") != std::string::npos);
    auto metrics = test::http_request(sonde.port(), "GET", "/metrics").body;
    CHECK(metrics.find("blackbox_exporter_config_last_reload_successful 0") != std::string::npos);
    CHECK(test::http_request(sonde.port(), "GET", "/config").body.find("one:") !=
          std::string::npos);

    CHECK(test::http_request(sonde.port(), "GET", "/-/reload").status == 405);

    dir.write("sonde.yml", "modules:\n  two:\n    prober: tcp\n");
    sonde.signal(SIGHUP);
    // SIGHUP is asynchronous: poll /config until the new module shows (bounded).
    bool reloaded = false;
    for (int i = 0; i < 100 && !reloaded; ++i) {
        reloaded = test::http_request(sonde.port(), "GET", "/config").body.find("two:") !=
                   std::string::npos;
    }
    CHECK(reloaded);
    metrics = test::http_request(sonde.port(), "GET", "/metrics").body;
    CHECK(metrics.find("blackbox_exporter_config_last_reload_successful 1") != std::string::npos);
    sonde.signal(SIGINT);
    CHECK(sonde.wait() == 0);
}

}  // namespace
}  // namespace sonde

namespace sonde {
namespace {

// promtool is Prometheus' own linter for the exposition format.
TEST_CASE("promtool accepts what /probe and /metrics serve", "[integration][cli][promtool]") {
    test::TempDir dir;
    test::SondeProcess sonde({}, dir.path());
    const std::string port = std::to_string(sonde.port());
    const auto probe = test::http_request(sonde.port(), "GET",
                                          "/probe?module=tcp_connect&target=127.0.0.1:" + port);
    const auto failed =
        test::http_request(sonde.port(), "GET", "/probe?module=tcp_connect&target=127.0.0.1:1");
    const auto metrics = test::http_request(sonde.port(), "GET", "/metrics");
    for (const auto& [name, body] :
         {std::pair{"probe.txt", probe.body}, std::pair{"failed.txt", failed.body},
          std::pair{"metrics.txt", metrics.body}}) {
        INFO(name << ":\n" << body);
        const std::string file = dir.write(name, body);
        const auto result =
            test::run_command({"/bin/sh", "-c", "promtool check metrics < " + file});
        INFO(result.output);
        CHECK(result.exit_code == 0);
    }
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
}

}  // namespace
}  // namespace sonde

namespace sonde {
namespace {

TEST_CASE("SIGTERM with probes in flight exits 0 without waiting for them", "[integration][cli]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", R"yaml(modules:
  wait_for_banner:
    prober: tcp
    timeout: 60s
    tcp:
      query_response:
      - expect: "^never"
)yaml");
    test::SilentListener silent;
    test::SondeProcess sonde({"--config.file=" + config});
    // Three /probe requests whose probes would wait 60 s for a banner that never comes.
    std::vector<int> clients;
    for (int i = 0; i < 3; ++i) {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(sonde.port());
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        const std::string request =
            "GET /probe?module=wait_for_banner&target=127.0.0.1:" + std::to_string(silent.port()) +
            " HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: "
            "60\r\n\r\n";
        REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()));
        clients.push_back(fd);
    }
    // The probes are in flight once /metrics counts them.
    bool inflight = false;
    for (int i = 0; i < 200 && !inflight; ++i) {
        inflight = test::http_request(sonde.port(), "GET", "/metrics")
                       .body.find("sonde_inflight_probes 3") != std::string::npos;
    }
    REQUIRE(inflight);
    sonde.signal(SIGTERM);
    // wait() gives up after 20 s, well before the probes' 60 s: exiting 0 means they were
    // cancelled, not waited for.
    CHECK(sonde.wait(20000) == 0);
    for (const int fd : clients) {
        close(fd);
    }
}

}  // namespace
}  // namespace sonde

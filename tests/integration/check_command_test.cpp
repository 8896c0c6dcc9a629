// `sonde check` as a user runs it: the real binary against loopback servers, its output and
// its exit codes (0 all succeeded, 1 some failed, 2 usage or config error).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/nginx_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_http_server.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

constexpr const char* kCheckModules = R"yaml(modules:
  http_2xx:
    prober: http
    timeout: 8s
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
)yaml";

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string dead_address() {
    return "127.0.0.1:" + std::to_string(test::free_port());
}

test::ThreadedHttpServer ok_server(std::atomic<int>* hits = nullptr) {
    return test::ThreadedHttpServer([hits](const net::HttpRequest&) {
        if (hits != nullptr) {
            ++*hits;
        }
        net::HttpResponse response;
        response.status = 200;
        response.body = "ok\n";
        return response;
    });
}

}  // namespace

TEST_CASE("sonde check: a passing probe prints OK, its phases and facts, exits 0",
          "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    std::atomic<int> hits{0};
    auto server = ok_server(&hits);
    REQUIRE(server.port() != 0);
    const auto result = test::run_command({SONDE_BINARY, "check", "--config.file=" + config,
                                           "http_2xx", "http://" + server.address() + "/healthz"});
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.rfind("OK http_2xx http://" + server.address() + "/healthz in ", 0) == 0);
    CHECK(contains(result.output, "  phases:\n"));
    CHECK(contains(result.output, "connect"));
    CHECK(contains(result.output, "http_status_code"));
    CHECK(contains(result.output, "200\n"));
    CHECK_FALSE(contains(result.output, "reason:"));
    // Not a terminal: no colour.
    CHECK_FALSE(contains(result.output, "\033["));
    CHECK(hits.load() == 1);
}

TEST_CASE("sonde check: a dead port fails with the reason and exits 1", "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    const std::string target = dead_address();
    const auto result =
        test::run_command({SONDE_BINARY, "check", "--config.file", config, "tcp_connect", target});
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.rfind("FAIL tcp_connect " + target + " in ", 0) == 0);
    CHECK(contains(result.output, "  reason: "));
    CHECK(contains(result.output, "refused"));
    // The probe's own log lines only when --log.prober asks for them.
    CHECK_FALSE(contains(result.output, "Beginning probe"));
    const auto logged = test::run_command({SONDE_BINARY, "check", "--config.file", config,
                                           "--log.prober=debug", "tcp_connect", target});
    INFO(logged.output);
    CHECK(logged.exit_code == 1);
    CHECK(contains(logged.output, "msg=\"Beginning probe\""));
    CHECK(contains(logged.output, "msg=\"Probe failed\""));
}

TEST_CASE("sonde check: usage and config errors exit 2 with a message", "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    auto result = test::run_command(
        {SONDE_BINARY, "check", "--config.file=" + config, "no_such_module", "127.0.0.1:1"});
    CHECK(result.exit_code == 2);
    CHECK(contains(result.output, "unknown module \"no_such_module\""));

    result = test::run_command({SONDE_BINARY, "check", "--no-such-flag", "tcp_connect", "x:1"});
    CHECK(result.exit_code == 2);
    CHECK(contains(result.output, "--no-such-flag"));

    result = test::run_command({SONDE_BINARY, "check", "--config.file=" + config, "tcp_connect"});
    CHECK(result.exit_code == 2);
    CHECK(contains(result.output, "TARGET"));

    const std::string bad = dir.write("bad.yml", "modules:\n  m:\n    prober: nonsense\n");
    result = test::run_command({SONDE_BINARY, "check", "--config.file=" + bad, "m", "127.0.0.1:1"});
    CHECK(result.exit_code == 2);
    CHECK(contains(result.output, "bad.yml"));

    result = test::run_command({SONDE_BINARY, "check", "--config.file=/nonexistent/sonde.yml",
                                "tcp_connect", "127.0.0.1:1"});
    CHECK(result.exit_code == 2);
    CHECK(contains(result.output, "/nonexistent/sonde.yml"));

    // Without targets on the command line, a config without static targets has nothing to run.
    result = test::run_command({SONDE_BINARY, "check", "--config.file=" + config});
    CHECK(result.exit_code == 2);
    CHECK(contains(result.output, "no static targets"));

    result = test::run_command({SONDE_BINARY, "check", "--help"});
    CHECK(result.exit_code == 0);
    CHECK(contains(result.output, "usage: sonde check"));
    CHECK(contains(result.output, "10s"));
}

TEST_CASE("sonde check --json: one object, or an array for several targets",
          "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    auto server = ok_server();
    REQUIRE(server.port() != 0);
    const std::string good = "http://" + server.address() + "/";
    auto result = test::run_command(
        {SONDE_BINARY, "check", "--json", "--config.file=" + config, "http_2xx", good});
    INFO(result.output);
    CHECK(result.exit_code == 0);
    const auto one = nlohmann::json::parse(result.output);
    REQUIRE(one.is_object());
    CHECK(one["module"] == "http_2xx");
    CHECK(one["target"] == good);
    CHECK(one["success"] == true);
    CHECK(one["duration_seconds"].get<double>() > 0);
    CHECK(one["phases"].contains("connect"));
    CHECK(one["facts"]["http_status_code"] == 200);
    CHECK_FALSE(one.contains("reason"));

    const std::string dead = "http://" + dead_address() + "/";
    result = test::run_command(
        {SONDE_BINARY, "check", "--json", "--config.file=" + config, "http_2xx", good, dead});
    INFO(result.output);
    CHECK(result.exit_code == 1);
    const auto many = nlohmann::json::parse(result.output);
    REQUIRE(many.is_array());
    REQUIRE(many.size() == 2);
    CHECK(many[0]["target"] == good);
    CHECK(many[0]["success"] == true);
    CHECK(many[1]["target"] == dead);
    CHECK(many[1]["success"] == false);
    CHECK(contains(many[1]["reason"].get<std::string>(), "refused"));
}

TEST_CASE("sonde check --metrics prints the exposition text", "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    test::ThreadedTcpServer server("hello\n");
    REQUIRE(server.port() != 0);
    const auto result =
        test::run_command({SONDE_BINARY, "check", "--metrics", "--config.file=" + config,
                           "tcp_connect", server.address()});
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(contains(result.output, "# TYPE probe_success gauge\nprobe_success 1\n"));
    CHECK(contains(result.output, "probe_duration_seconds "));
}

TEST_CASE("sonde check: several targets run concurrently, then a summary line",
          "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    // Each server answers only once the other has seen its request (or fails after 5 s): run
    // one after the other, the first probe would get a 500.
    std::mutex mutex;
    std::condition_variable changed;
    int arrived = 0;
    const auto rendezvous = [&](const net::HttpRequest&) {
        std::unique_lock<std::mutex> lock(mutex);
        ++arrived;
        changed.notify_all();
        const bool both =
            changed.wait_for(lock, std::chrono::seconds(5), [&] { return arrived >= 2; });
        net::HttpResponse response;
        response.status = both ? 200 : 500;
        return response;
    };
    test::ThreadedHttpServer a(rendezvous);
    test::ThreadedHttpServer b(rendezvous);
    REQUIRE(a.port() != 0);
    REQUIRE(b.port() != 0);
    const std::string dead = "http://" + dead_address() + "/";
    const auto result =
        test::run_command({SONDE_BINARY, "check", "--config.file=" + config, "http_2xx",
                           "http://" + a.address() + "/", "http://" + b.address() + "/", dead});
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(count(result.output, "\nOK http_2xx") + (result.output.rfind("OK http_2xx", 0) == 0) ==
          2);
    CHECK(contains(result.output, "FAIL http_2xx " + dead));
    // Results come in the order of the targets.
    CHECK(result.output.find(a.address()) < result.output.find(b.address()));
    CHECK(result.output.find(b.address()) < result.output.find(dead));
    CHECK(contains(result.output, "3 targets, 3 probes, 2 succeeded, 1 failed\n"));
}

TEST_CASE("sonde check --repeat runs the probes N times", "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    std::atomic<int> hits{0};
    auto server = ok_server(&hits);
    REQUIRE(server.port() != 0);
    const auto result =
        test::run_command({SONDE_BINARY, "check", "--config.file=" + config, "--repeat", "3",
                           "--interval=10ms", "http_2xx", "http://" + server.address() + "/"});
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(count(result.output, "OK http_2xx") == 3);
    CHECK(contains(result.output, "1 target, 3 probes, 3 succeeded, 0 failed\n"));
    CHECK(hits.load() == 3);

    const auto json =
        test::run_command({SONDE_BINARY, "check", "--json", "--config.file=" + config, "--repeat=2",
                           "--interval=0s", "http_2xx", "http://" + server.address() + "/"});
    INFO(json.output);
    CHECK(json.exit_code == 0);
    const auto parsed = nlohmann::json::parse(json.output);
    REQUIRE(parsed.is_array());
    CHECK(parsed.size() == 2);
}

TEST_CASE("sonde check without targets runs the config's static targets once",
          "[integration][check]") {
    test::TempDir dir;
    std::atomic<int> hits{0};
    auto web = ok_server(&hits);
    test::ThreadedTcpServer db("ready\n");
    REQUIRE(web.port() != 0);
    REQUIRE(db.port() != 0);
    const std::string targets = "targets:\n  - module: http_2xx\n    targets: [http://" +
                                web.address() + "/]\n  - module: tcp_connect\n    targets: [" +
                                db.address() + "]\n    interval: 1h\n";
    const std::string good = dir.write("good.yml", std::string(kCheckModules) + targets);
    auto result = test::run_command({SONDE_BINARY, "check", "--config.file=" + good});
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(contains(result.output, "OK http_2xx http://" + web.address() + "/"));
    CHECK(contains(result.output, "OK tcp_connect " + db.address()));
    CHECK(contains(result.output, "2 targets, 2 probes, 2 succeeded, 0 failed\n"));
    CHECK(hits.load() == 1);

    const std::string dead = dead_address();
    const std::string bad =
        dir.write("bad.yml", std::string(kCheckModules) + targets +
                                 "  - module: tcp_connect\n    targets: [" + dead + "]\n");
    result = test::run_command({SONDE_BINARY, "check", "--config.file=" + bad});
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(contains(result.output, "FAIL tcp_connect " + dead));
    CHECK(contains(result.output, "3 targets, 3 probes, 2 succeeded, 1 failed\n"));
}

TEST_CASE("sonde check against nginx over https shows TLS facts", "[integration][check]") {
    if (!test::NginxServer::available()) {
        WARN("nginx is not installed: " << test::NginxServer::kBinary);
        return;
    }
    test::NginxServer nginx(0, 0);
    test::TempDir dir;
    const std::string config =
        dir.write("sonde.yml",
                  "modules:\n  https:\n    prober: http\n    http:\n      "
                  "preferred_ip_protocol: ip4\n      tls_config:\n        ca_file: " +
                      nginx.ca_file() + "\n");
    auto result = test::run_command(
        {SONDE_BINARY, "check", "--config.file=" + config, "https", nginx.https_url("/ok")});
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.rfind("OK https ", 0) == 0);
    CHECK(contains(result.output, "tls_version_info"));
    CHECK(contains(result.output, "version=TLS"));
    CHECK(contains(result.output, "ssl_earliest_cert_expiry"));
    CHECK(contains(result.output, " UTC\n"));

    result = test::run_command({SONDE_BINARY, "check", "--config.file=" + config, "https",
                                nginx.https_url("/status/503")});
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.rfind("FAIL https ", 0) == 0);
    CHECK(contains(result.output, "503"));
    CHECK(contains(result.output, "  reason: "));
}

}  // namespace sonde

namespace sonde {

TEST_CASE("sonde check: SIGINT cancels the probe in flight and prints the summary",
          "[integration][check]") {
    test::TempDir dir;
    const std::string config = dir.write("sonde.yml", kCheckModules);
    // The first request is answered at once, the second hangs until the test releases it.
    std::mutex mutex;
    std::condition_variable changed;
    int requests = 0;
    bool release = false;
    test::ThreadedHttpServer server([&](const net::HttpRequest&) {
        std::unique_lock<std::mutex> lock(mutex);
        ++requests;
        changed.notify_all();
        if (requests > 1) {
            changed.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
        }
        net::HttpResponse response;
        response.status = 200;
        return response;
    });
    REQUIRE(server.port() != 0);
    test::SondeProcess check({SONDE_BINARY, "check", "--config.file=" + config, "--repeat=5",
                              "--interval=0s", "http_2xx", "http://" + server.address() + "/"},
                             "OK http_2xx", 0);
    {
        std::unique_lock<std::mutex> lock(mutex);
        REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return requests >= 2; }));
    }
    check.signal(SIGINT);
    const int code = check.wait();
    {
        const std::lock_guard<std::mutex> lock(mutex);
        release = true;
    }
    changed.notify_all();
    const std::string& output = check.output();
    INFO(output);
    CHECK(code == 130);
    CHECK(contains(output, "interrupted"));
    CHECK(contains(output, "1 target, 1 probe, 1 succeeded, 0 failed\n"));
}

}  // namespace sonde

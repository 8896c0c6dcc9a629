// Faults a real sonde process must survive (issue 8): SIGTERM with thousands of probes in flight,
// a storm of config reloads (good and bad, by SIGHUP and POST /-/reload) while scheduled targets
// run, and every Kubernetes API fault at once while probing goes on. Each case drives the sonde
// binary from outside, as an operator or a broken API server would, and reads /metrics.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/fake_kube_api.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/silent_listener.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

using Clock = std::chrono::steady_clock;

// Polls /metrics until `done` holds; gives up (FAIL) after `limit`, a hang guard rather than a
// timing assertion. Prints how long it took.
test::Samples wait_for(std::uint16_t port, const char* what,
                       const std::function<bool(const test::Samples&)>& done,
                       std::chrono::seconds limit = std::chrono::seconds(20), bool quiet = false) {
    const auto start = Clock::now();
    for (;;) {
        auto samples = test::scrape_metrics(port);
        const auto elapsed = Clock::now() - start;
        if (done(samples)) {
            if (quiet) {
                return samples;
            }
            WARN(what << " after "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                      << " ms");
            return samples;
        }
        if (elapsed > limit) {
            FAIL("gave up waiting: " << what);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
}

// Raises the soft descriptor limit to the hard one (children inherit it) and returns it.
rlim_t raise_fd_limit() {
    rlimit limit{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &limit);
        REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    }
    return limit.rlim_cur;
}

// Sends one HTTP request on a new connection and keeps the connection open (the fd returned);
// -1 when the connection failed.
int send_and_hold(std::uint16_t port, const std::string& request) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

TEST_CASE("SIGTERM with thousands of probes in flight exits 0 at once, with the loop closed",
          "[integration][faults]") {
    const rlim_t fd_limit = raise_fd_limit();
    // sonde serves at most 1024 connections (HttpServerLimits), and /metrics needs one: 900
    // /probe requests, each costing sonde two descriptors (the client's connection and the
    // probe's socket) and the test one, and 2000 scheduled targets, each costing one.
#if defined(__SANITIZE_ADDRESS__)
    // Under ASan (CI's second pass, next to other tests on two cores) each probe costs several
    // times more: fewer, still well over a thousand.
    constexpr int kProbes = 500;
    constexpr int kScheduled = 1000;
#else
    constexpr int kProbes = 900;
    constexpr int kScheduled = 2000;
#endif
    const int probes = fd_limit >= 8000 ? kProbes : static_cast<int>(fd_limit / 10);
    const int scheduled = fd_limit >= 8000 ? kScheduled : static_cast<int>(fd_limit / 4);
    CAPTURE(fd_limit, probes, scheduled);
    REQUIRE(probes >= 100);

    test::SilentListener silent(4096);
    const std::string peer = "127.0.0.1:" + std::to_string(silent.port());
    test::TempDir dir;
    std::string config = R"yaml(modules:
  http_silent:
    prober: http
    timeout: 15s
    http: {preferred_ip_protocol: ip4}
  tcp_banner:
    prober: tcp
    timeout: 15s
    tcp:
      query_response:
      - expect: "^never"
  http_scheduled:
    prober: http
    http: {preferred_ip_protocol: ip4}
targets:
  - module: http_scheduled
    interval: 2s
    targets:
)yaml";
    for (int i = 0; i < scheduled; ++i) {
        config += "      - http://" + peer + "/" + std::to_string(i) + "\n";
    }
    const std::string file = dir.write("sonde.yml", config);
    test::SondeProcess sonde({"--config.file=" + file});

    // Half of the /probe requests wait for an HTTP answer, half for a banner; both would wait
    // 14.5 s (15 s scrape timeout minus the offset, the module's 15 s being larger).
    std::vector<int> clients;
    clients.reserve(static_cast<std::size_t>(probes));
    for (int i = 0; i < probes; ++i) {
        const std::string module = i % 2 == 0 ? "http_silent" : "tcp_banner";
        const std::string target = i % 2 == 0 ? "http://" + peer + "/p" + std::to_string(i) : peer;
        const int fd =
            send_and_hold(sonde.port(), "GET /probe?module=" + module + "&target=" + target +
                                            " HTTP/1.1\r\nHost: x\r\n"
                                            "X-Prometheus-Scrape-Timeout-Seconds: 15"
                                            "\r\n\r\n");
        REQUIRE(fd >= 0);
        clients.push_back(fd);
    }
    // Every /probe is in flight, and scheduled runs with them (each target runs 1.5 s of
    // every 2 s).
    test::Samples samples;
    const auto give_up = Clock::now() + std::chrono::seconds(20);
    for (;;) {
        const auto reply = test::http_request(sonde.port(), "GET", "/metrics");
        if (reply.status != 200) {
            const std::string out = sonde.output();
            FAIL("/metrics failed under load; sonde's output ends with:\n"
                 << out.substr(out.size() > 3000 ? out.size() - 3000 : 0));
        }
        samples = test::parse_samples(reply.body);
        if (test::sample_or(samples, "sonde_inflight_probes", 0) >= probes + scheduled / 2) {
            break;
        }
        REQUIRE(Clock::now() < give_up);
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    const double inflight = samples.at("sonde_inflight_probes");
    const double fds = samples.at("process_open_fds");
    WARN("in flight at SIGTERM: " << inflight << " probes, " << fds << " descriptors");

    const auto signalled = Clock::now();
    sonde.signal(SIGTERM);
    // The longest probe would end 14.5 s from its start: exiting within 15 s of the signal
    // means they were cancelled, not waited for. Exit code 0 means uv_loop_close() returned 0
    // (App::run), and under ASan that no leak was reported.
    const int code = sonde.wait(15000);
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled).count();
    WARN("exited " << took << " ms after SIGTERM");
    const std::string output = sonde.output();
    INFO(output.substr(output.size() > 4000 ? output.size() - 4000 : 0));
    CHECK(code == 0);
    CHECK(output.find("Shutting down") != std::string::npos);
    CHECK(output.find("handles still open") == std::string::npos);
    CHECK(output.find("LeakSanitizer") == std::string::npos);
    for (const int fd : clients) {
        close(fd);
    }
}

namespace {

// One config of the reload storm. Valid ones keep the two core targets, and carry a marker
// module and an extra target labelled with their generation; invalid ones are broken in one of
// four ways, each at a known place.
std::string storm_config(const std::string& server, int generation, int broken) {
    std::string modules =
        "modules:\n"
        "  tcp_connect:\n"
        "    prober: tcp\n"
        "    timeout: 1s\n"
        "  marker_" +
        std::to_string(generation) + ":\n    prober: tcp\n";
    switch (broken) {
        case 1:
            modules += "    bogus: 1\n";  // unknown key
            break;
        case 2:
            modules += "    timeout: 1fortnight\n";  // bad duration
            break;
        case 3:
            modules +=
                "    tcp:\n      query_response:\n      - expect: \"(unclosed\"\n";  // bad RE2
            break;
        case 4:
            modules += "    tcp: [\n";  // YAML syntax
            break;
        default:
            break;
    }
    return modules +
           "targets:\n"
           "  - module: tcp_connect\n"
           "    interval: 1s\n"
           "    labels: {group: core}\n"
           "    targets: ['" +
           server +
           "', '127.0.0.1:1']\n"
           "  - module: tcp_connect\n"
           "    interval: 1s\n"
           "    labels: {group: extra, generation: '" +
           std::to_string(generation) + "'}\n    targets: ['" + server + "']\n";
}

double reloads(const test::Samples& s, const char* result) {
    return test::sample_or(s, std::string("sonde_config_reloads_total{result=\"") + result + "\"}",
                           0);
}

}  // namespace

TEST_CASE("a storm of 100 reloads, some invalid, never drops a scheduled target or series",
          "[integration][faults]") {
    test::ThreadedTcpServer server("hello\n");
    test::TempDir dir;
    const std::string file = dir.write("sonde.yml", storm_config(server.address(), 0, 0));
    test::SondeProcess sonde({"--config.file=" + file});
    const std::uint16_t port = sonde.port();

    // The core targets' series, once each target has run twice.
    const std::string up = "{group=\"core\",module=\"tcp_connect\",target=\"" + server.address();
    const std::string down = "{group=\"core\",module=\"tcp_connect\",target=\"127.0.0.1:1";
    auto first = wait_for(port, "two runs of each core target", [&](const test::Samples& s) {
        return test::sample_or(s,
                               "sonde_target_probes_total{group=\"core\",module=\"tcp_connect\","
                               "result=\"success\",target=\"" +
                                   server.address() + "\"}",
                               0) >= 2 &&
               test::sample_or(s,
                               "sonde_target_probes_total{group=\"core\",module=\"tcp_connect\","
                               "result=\"failure\",target=\"127.0.0.1:1\"}",
                               0) >= 2;
    });
    std::set<std::string> core;
    for (const auto& [key, value] : first) {
        if (key.find("group=\"core\"") != std::string::npos) {
            core.insert(key);
        }
    }
    CAPTURE(core.size());
    REQUIRE(core.size() >= 10);
    CHECK(first.at("probe_success" + up + "\"}") == 1);
    CHECK(first.at("probe_success" + down + "\"}") == 0);

    const std::regex position(R"(sonde\.yml:[0-9]+:[0-9]+)");
    int last_good = 0;
    int good = 0;
    int bad = 0;
    for (int i = 1; i <= 100; ++i) {
        CAPTURE(i);
        // A third invalid, the last one too, so that the last good config must survive it.
        const int broken = (i % 3 == 2 || i == 100) ? 1 + (i % 4) : 0;
        dir.write("sonde.yml", storm_config(server.address(), i, broken));
        if (i % 2 == 0) {
            const auto reply = test::http_request(port, "POST", "/-/reload");
            INFO(reply.body);
            if (broken != 0) {
                CHECK(reply.status == 500);
                // Every kind of error names the place in the file.
                CHECK(std::regex_search(reply.body, position));
            } else {
                CHECK(reply.status == 200);
            }
        } else {
            sonde.signal(SIGHUP);
        }
        if (broken == 0) {
            ++good;
            last_good = i;
        } else {
            ++bad;
        }
        // SIGHUP is asynchronous: the reload counters say when it was handled.
        const auto samples = wait_for(
            port, "reload handled",
            [&](const test::Samples& s) {
                return reloads(s, "success") == good && reloads(s, "failure") == bad;
            },
            std::chrono::seconds(20), /*quiet=*/true);
        CHECK(samples.at("sonde_config_last_reload_successful") == (broken != 0 ? 0 : 1));
        CHECK(samples.at("blackbox_exporter_config_last_reload_successful") ==
              (broken != 0 ? 0 : 1));
        // No core series ever missing between reloads, nor any scheduled target.
        for (const auto& key : core) {
            if (samples.count(key) == 0) {
                FAIL_CHECK("series gone after reload " << i << ": " << key);
            }
        }
        CHECK(samples.at("sonde_scheduled_targets") == 3);
        // The extra target is the last good config's.
        const auto sd = test::http_request(port, "GET", "/sd");
        REQUIRE(sd.status == 200);
        const auto groups = nlohmann::json::parse(sd.body);
        std::set<std::string> generations;
        for (const auto& group : groups) {
            if (group["labels"].value("group", "") == "extra") {
                generations.insert(group["labels"].value("generation", ""));
            }
        }
        CHECK(generations == std::set<std::string>{std::to_string(last_good)});
    }
    const std::string rendered = test::http_request(port, "GET", "/config").body;
    CHECK(rendered.find("marker_" + std::to_string(last_good) + ":") != std::string::npos);
    CHECK(rendered.find("marker_100:") == std::string::npos);
    // The last good config's extra target runs: its series show up.
    wait_for(port, "the last good config's extra target probed", [&](const test::Samples& s) {
        return test::sample_or(s, "probe_success{generation=\"" + std::to_string(last_good) +
                                      "\",group=\"extra\",module=\"tcp_connect\",target=\"" +
                                      server.address() + "\"}") == 1;
    });
    const auto output = sonde.output();
    CHECK(output.find("handles still open") == std::string::npos);
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
}

namespace {

nlohmann::json tcp_service(const std::string& name, std::uint16_t port) {
    return {
        {"metadata",
         {{"name", name},
          {"namespace", "shop"},
          {"annotations", {{"prometheus.io/probe", "true"}, {"sonde.io/module", "tcp_connect"}}}}},
        {"spec", {{"ports", {{{"name", "db"}, {"port", port}, {"protocol", "TCP"}}}}}}};
}

// The kubeconfig of the fake API, reading its token from a file (re-read on a 401, as
// client-go does) instead of inline.
std::string kubeconfig_with_token_file(const test::FakeKubeApi& api, const std::string& file) {
    std::string text = api.kubeconfig();
    const std::string inline_token = "    token: " + api.token() + "\n";
    const auto at = text.find(inline_token);
    REQUIRE(at != std::string::npos);
    text.replace(at, inline_token.size(), "    tokenFile: " + file + "\n");
    return text;
}

std::string dnsmasq_ready_pattern() {
    return "started";
}

}  // namespace

TEST_CASE("every Kubernetes API fault at once: probing goes on, discovery converges after",
          "[integration][faults][kube]") {
    test::FakeKubeApi api;
    test::TempDir dir;
    const std::string token_file = dir.write("token", api.token() + "\n");
    const std::string kubeconfig =
        dir.write("kubeconfig", kubeconfig_with_token_file(api, token_file));
    // Every *.svc name is 127.0.0.1, as cluster DNS would answer for a Service.
    const std::uint16_t dns_port = test::free_port();
    test::SondeProcess dnsmasq({"/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                                "--pid-file=", "--port=" + std::to_string(dns_port),
                                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                                "--no-hosts", "--log-facility=-", "--address=/svc/127.0.0.1"},
                               dnsmasq_ready_pattern(), dns_port);
    test::ThreadedTcpServer db("db ready\n");
    test::ThreadedTcpServer cache("cache ready\n");

    for (int i = 0; i < 5; ++i) {
        api.put_service(tcp_service("s" + std::to_string(i), db.port()));
    }
    const std::string config = dir.write("sonde.yml", R"(modules:
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp: {preferred_ip_protocol: ip4}
targets:
  - module: tcp_connect
    interval: 1s
    labels: {group: static}
    targets: [')" + cache.address() + R"(']
discovery:
  kubernetes:
    kubeconfig: )" + kubeconfig + R"(
    interval: 1s
    service_module: tcp_connect
    ingress_module: tcp_connect
)");
    test::SondeProcess sonde(
        {"--config.file=" + config, "--resolver.nameserver=127.0.0.1:" + std::to_string(dns_port)});
    const std::uint16_t port = sonde.port();

    const auto runs_of = [&](const std::string& name) {
        return "sonde_target_probes_total{kind=\"Service\",module=\"tcp_connect\",name=\"" + name +
               "\",namespace=\"shop\",result=\"success\",target=\"" + name +
               ".shop.svc:" + std::to_string(db.port()) + "\"}";
    };
    const std::string static_runs =
        "sonde_target_probes_total{group=\"static\",module=\"tcp_connect\",result=\"success\","
        "target=\"" +
        cache.address() + "\"}";
    const std::string healthy = "sonde_discovery_healthy{source=\"kubernetes\"}";
    // s1..s4 stay through everything; s0 is deleted and s5 added while the API misbehaves.
    const std::vector<std::string> staying = {"s1", "s2", "s3", "s4"};
    const auto before = wait_for(port, "every Service probed", [&](const test::Samples& s) {
        for (int i = 0; i < 5; ++i) {
            if (test::sample_or(s, runs_of("s" + std::to_string(i)), 0) < 1) {
                return false;
            }
        }
        return test::sample_or(s, healthy, 0) == 1 && test::sample_or(s, static_runs, 0) >= 1;
    });
    CHECK(before.at("sonde_scheduled_targets") == 6);

    // All at once: slow answers, slow watch streams, a rotated token (the old one now gets
    // 401), history compacted (the next watch gets 410) and every watch dropped mid-stream,
    // a list that is not JSON, then 5xx.
    api.set_response_delay_ms(700);
    api.set_watch_framing(test::WatchFraming{3, 150, false});
    api.set_token("rotated-token");
    dir.write("token", "rotated-token\n");
    REQUIRE(api.delete_object(test::KubeKind::Service, "shop", "s0"));
    api.put_service(tcp_service("s5", db.port()));
    api.compact();
    api.corrupt_next(1, test::KubeVerb::List);
    api.reset_watches();

    // While the faults play out, every staying target keeps its series on every scrape.
    const auto check_probing = [&](const test::Samples& s) {
        for (const auto& name : staying) {
            if (s.count(runs_of(name)) == 0) {
                FAIL_CHECK("series of " << name << " gone during the faults");
            }
        }
        CHECK(s.count(static_runs) == 1);
        CHECK(s.at("sonde_scheduled_targets") >= 5);
    };
    const auto fault_until = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < fault_until) {
        check_probing(test::scrape_metrics(port));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // A second wave while the first is still being recovered from: 503s and dropped watches.
    api.fail_next(2, 503);
    api.reset_watches();
    const auto second_until = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < second_until) {
        check_probing(test::scrape_metrics(port));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

    // The API heals: discovery converges to the objects as they are now.
    api.set_response_delay_ms(0);
    api.set_watch_framing(test::WatchFraming{});
    const auto after = wait_for(
        port, "discovery converged after the faults",
        [&](const test::Samples& s) {
            check_probing(s);
            return test::sample_or(s, healthy, 0) == 1 && s.count(runs_of("s0")) == 0 &&
                   test::sample_or(s, runs_of("s5"), 0) >= 1 &&
                   test::sample_or(s, "sonde_known_targets") == 6;
        },
        std::chrono::seconds(25));
    CHECK(after.at("sonde_scheduled_targets") == 6);
    // Probing never stopped: every staying target ran again and again meanwhile.
    for (const auto& name : staying) {
        CAPTURE(name);
        CHECK(after.at(runs_of(name)) >= before.at(runs_of(name)) + 3);
    }
    CHECK(after.at(static_runs) >= before.at(static_runs) + 3);
    // The faults did happen: a 401 made the client re-read its token file.
    CHECK(api.unauthorized_count() >= 1);
    CHECK(api.last_request(test::KubeKind::Service).header("Authorization") ==
          "Bearer rotated-token");
    CHECK(test::sample_or(after,
                          "sonde_discovery_request_errors_total{request=\"list\",source="
                          "\"kubernetes\"}",
                          0) >= 1);
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
}

}  // namespace sonde

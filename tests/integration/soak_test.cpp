// A bounded soak of the sonde binary (issue 8): for SONDE_SOAK_SECONDS (default 30, at most 60
// in CI), static targets appear and vanish through config rewrites and reloads (SIGHUP and
// POST /-/reload, some invalid), Services appear and vanish in the fake Kubernetes API, and the
// API server flaps (stops, restarts, forgets its history). Afterwards the open descriptors are
// back to the baseline taken before the churn, and the resident memory after the warm-up (the
// first quarter) grew by less than a bound. The start, warm and end figures are printed.
//
// A longer run: SONDE_SOAK_SECONDS=600 build/tests/sonde_integration_tests "[soak]"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/fake_kube_api.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

using Clock = std::chrono::steady_clock;

int soak_seconds() {
    const char* text = std::getenv("SONDE_SOAK_SECONDS");
    const int seconds = text == nullptr ? 30 : std::atoi(text);
    return std::max(seconds, 8);
}

// Static targets: the server under a sliding window of labels, so that each step some
// targets vanish and others appear. Some configs are invalid (and are refused).
std::string soak_config(const std::string& server, const std::string& kubeconfig, int step,
                        bool broken) {
    std::string text =
        "modules:\n"
        "  tcp_connect:\n"
        "    prober: tcp\n"
        "    timeout: 1s\n"
        "    tcp: {preferred_ip_protocol: ip4}\n";
    if (broken) {
        text += "    surprise: true\n";
    }
    text += "targets:\n";
    text +=
        "  - module: tcp_connect\n    interval: 1s\n    labels: {slot: stable}\n"
        "    targets: ['" +
        server + "', '127.0.0.1:1']\n";
    for (int slot = step; slot < step + 8; ++slot) {
        text += "  - module: tcp_connect\n    interval: 1s\n    labels: {slot: '" +
                std::to_string(slot) + "'}\n    targets: ['" + server + "']\n";
    }
    // Every ten steps the discovery interval changes, which restarts discovery (the old one's
    // targets stay scheduled until the new one has listed).
    text += "discovery:\n  kubernetes:\n    kubeconfig: " + kubeconfig +
            "\n    interval: " + ((step / 10) % 2 == 0 ? "1s" : "2s") +
            "\n    service_module: tcp_connect\n    ingress_module: tcp_connect\n";
    return text;
}

nlohmann::json tcp_service(const std::string& name, std::uint16_t port) {
    return {
        {"metadata",
         {{"name", name},
          {"namespace", "soak"},
          {"annotations", {{"prometheus.io/probe", "true"}, {"sonde.io/module", "tcp_connect"}}}}},
        {"spec", {{"ports", {{{"name", "tcp"}, {"port", port}, {"protocol", "TCP"}}}}}}};
}

struct Figures {
    double rss = 0;
    double fds = 0;
};

// The figures of a quiet moment: no probe in flight (each holds a socket) and discovery
// healthy (its watches open), read from one scrape. Polls until one that `accept`s comes (the
// descriptors back to a baseline) or `limit` passes; then the last quiet one, if any.
std::optional<Figures> quiet_figures(std::uint16_t port, std::chrono::seconds limit,
                                     const std::function<bool(const Figures&)>& accept) {
    const auto give_up = Clock::now() + limit;
    std::optional<Figures> last;
    while (Clock::now() < give_up) {
        const auto s = test::scrape_metrics(port);
        if (test::sample_or(s, "sonde_inflight_probes") == 0 &&
            test::sample_or(s, "sonde_discovery_healthy{source=\"kubernetes\"}") == 1) {
            last = Figures{s.at("process_resident_memory_bytes"), s.at("process_open_fds")};
            if (accept(*last)) {
                return last;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return last;
}

}  // namespace

TEST_CASE("soak: churning targets, reloads and a flapping API leave descriptors and memory flat",
          "[integration][soak]") {
#if defined(__SANITIZE_ADDRESS__)
    // ASan keeps freed memory in quarantine (256 MB by default): RSS would grow by that much
    // whatever sonde does. A small quarantine keeps the check meaningful; set before the first
    // child starts, with no other thread of ours running.
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string options = std::string(asan == nullptr ? "" : asan) +
                                ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64";
    ::setenv("ASAN_OPTIONS", options.c_str(), 1);
    constexpr double kGrowthLimitBytes = 40.0 * 1024 * 1024;
#else
    constexpr double kGrowthLimitBytes = 20.0 * 1024 * 1024;
#endif
    const int seconds = soak_seconds();
    test::FakeKubeApi api;
    test::ThreadedTcpServer server("hello\n");
    test::TempDir dir;
    const std::string kubeconfig = dir.write("kubeconfig", api.kubeconfig());
    const std::uint16_t dns_port = test::free_port();
    test::SondeProcess dnsmasq({"/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                                "--pid-file=", "--port=" + std::to_string(dns_port),
                                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                                "--no-hosts", "--log-facility=-", "--address=/svc/127.0.0.1"},
                               "started", dns_port);
    for (int i = 0; i < 6; ++i) {
        api.put_service(tcp_service("svc-" + std::to_string(i), server.port()));
    }
    const std::string file =
        dir.write("sonde.yml", soak_config(server.address(), kubeconfig, 0, false));
    test::SondeProcess sonde(
        {"--config.file=" + file, "--resolver.nameserver=127.0.0.1:" + std::to_string(dns_port)});
    const std::uint16_t port = sonde.port();

    // The baseline: every target probed once, nothing in flight. Each target's first run
    // comes at its own phase of the interval, so the stable one is waited for by name.
    const std::string stable_success =
        "probe_success{module=\"tcp_connect\",slot=\"stable\",target=\"" + server.address() + "\"}";
    const auto start_wait = Clock::now() + std::chrono::seconds(15);
    while (Clock::now() < start_wait) {
        const auto s = test::scrape_metrics(port);
        if (test::sample_or(s, stable_success) == 1 &&
            test::sample_or(
                s,
                "sonde_target_probes_total{kind=\"Service\",module=\"tcp_connect\",name="
                "\"svc-5\",namespace=\"soak\",result=\"success\",target=\"svc-5.soak."
                "svc:" +
                    std::to_string(server.port()) + "\"}",
                0) >= 1 &&
            test::sample_or(s, "sonde_scheduled_targets") == 16) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const auto start =
        quiet_figures(port, std::chrono::seconds(10), [](const Figures&) { return true; });
    REQUIRE(start);

    const auto soak_start = Clock::now();
    const auto soak_end = soak_start + std::chrono::seconds(seconds);
    const auto warm_end = soak_start + std::chrono::seconds(seconds) / 4;
    std::optional<Figures> warm;
    int step = 0;
    int reloads = 0;
    int refused = 0;
    int flaps = 0;
    double peak_fds = 0;
    bool api_up = true;
    while (Clock::now() < soak_end) {
        ++step;
        // Static targets: a sliding window, reloaded by POST or SIGHUP; every sixth file is bad
        // (always one reloaded by POST, whose answer says it was refused). The file is
        // replaced by a rename, so that a reload never reads half a file.
        const bool broken = step % 6 == 0;
        const std::string next =
            dir.write("sonde.yml.next", soak_config(server.address(), kubeconfig, step, broken));
        REQUIRE(std::rename(next.c_str(), file.c_str()) == 0);
        if (step % 2 == 0) {
            const auto reply = test::http_request(port, "POST", "/-/reload");
            CHECK(reply.status == (broken ? 500 : 200));
        } else {
            sonde.signal(SIGHUP);
        }
        ++reloads;
        refused += broken ? 1 : 0;
        // Services: one appears, an older one vanishes.
        api.put_service(tcp_service("svc-" + std::to_string(step + 5), server.port()));
        (void)api.delete_object(test::KubeKind::Service, "soak", "svc-" + std::to_string(step - 1));
        // The API server flaps: down for a few steps every 40, sometimes forgetting its
        // history (the next watch gets 410 and relists), and drops its watches now and then.
        if (step % 40 == 20) {
            api.stop();
            api_up = false;
            ++flaps;
        } else if (step % 40 == 26) {
            if (flaps % 2 == 0) {
                api.compact();
            }
            REQUIRE(api.restart());
            api_up = true;
        } else if (api_up && step % 10 == 5) {
            api.reset_watches();
        }
        const auto s = test::scrape_metrics(port);
        peak_fds = std::max(peak_fds, test::sample_or(s, "process_open_fds", 0));
        // The stable targets never vanish, whatever the reloads do.
        CHECK(test::sample_or(s, stable_success) == 1);
        if (!warm && Clock::now() >= warm_end) {
            warm = Figures{s.at("process_resident_memory_bytes"), s.at("process_open_fds")};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!api_up) {
        REQUIRE(api.restart());
    }
    REQUIRE(warm);

    // Settled: the descriptors come back to the baseline (discovery reconnected, no probe in
    // flight), and memory stayed flat after the warm-up.
    const auto end = quiet_figures(port, std::chrono::seconds(20),
                                   [&](const Figures& f) { return f.fds == start->fds; });
    REQUIRE(end);
    const auto final_samples = test::scrape_metrics(port);
    char line[512];
    std::snprintf(
        line, sizeof line,
        "soak %d s, %d steps, %d reloads (%d refused), %d API flaps: RSS start %.1f MB, "
        "after warm-up %.1f MB, end %.1f MB; descriptors start %.0f, after warm-up "
        "%.0f, peak %.0f, end %.0f; probes %.0f",
        seconds, step, reloads, refused, flaps, start->rss / 1048576.0, warm->rss / 1048576.0,
        end->rss / 1048576.0, start->fds, warm->fds, peak_fds, end->fds,
        test::sample_or(final_samples,
                        "sonde_probes_total{module=\"tcp_connect\",result=\"success\"}", 0) +
            test::sample_or(final_samples,
                            "sonde_probes_total{module=\"tcp_connect\",result=\"failure\"}", 0));
    WARN(line);
    std::printf("%s\n", line);
    CHECK(end->fds == start->fds);
    CHECK(end->rss - warm->rss < kGrowthLimitBytes);
    CHECK(test::sample_or(final_samples, "sonde_config_reloads_total{result=\"failure\"}", 0) ==
          refused);
    CHECK(test::sample_or(final_samples, "sonde_discovery_healthy{source=\"kubernetes\"}") == 1);
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
    CHECK(sonde.output().find("handles still open") == std::string::npos);
}

}  // namespace sonde

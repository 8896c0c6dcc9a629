// Bounds on concurrency and descriptors (issue 8, "Exhaustion and load"):
// - --probe.max-concurrent: /probe beyond it answers 503 with the reason and is counted;
//   scheduled runs beyond it wait for a slot (the lag metric shows it); both share the bound.
// - --web.max-connections: the HTTP server's connection cap.
// - RLIMIT_NOFILE: the soft limit is raised to the hard one; probes never take the descriptors
//   kept for serving, fail with "too many open files" past them, and work again once
//   descriptors free up, while /metrics and /-/healthy keep answering.
//
// Probes are held in flight by HoldServer, which accepts and answers nothing until released:
// the tests decide when a probe ends instead of waiting for timeouts.

#include <atomic>
#include <cerrno>
#include <thread>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/loader.hpp"
#include "prober/app/probe_admission.hpp"
#include "prober/app/scheduler.hpp"
#include "prober/app/self_metrics.hpp"
#include "prober/net/fd_budget.hpp"
#include "prober/net/resolver.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_http_server.hpp"

namespace sonde {
namespace {

// An HTTP server on its own thread that accepts connections and reads their requests, but
// answers none until release(); from then on it answers every request (held or new) with 200
// and closes the connection.
class HoldServer {
public:
    HoldServer() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(listen_fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(listen_fd_, 256) == 0);
        socklen_t length = sizeof address;
        REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
        REQUIRE(::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) == 0);
        thread_ = std::thread([this] { run(); });
    }
    ~HoldServer() {
        stop_ = true;
        wake();
        thread_.join();
        ::close(listen_fd_);
        ::close(wake_[0]);
        ::close(wake_[1]);
    }
    HoldServer(const HoldServer&) = delete;
    HoldServer& operator=(const HoldServer&) = delete;

    std::string url(const std::string& path = "/") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    // Connections open and not answered.
    std::size_t held() const { return held_.load(); }
    void release() {
        released_ = true;
        wake();
    }

private:
    struct Connection {
        int fd;
        std::string received;
    };

    void wake() const { (void)!::write(wake_[1], "x", 1); }

    void run() {
        std::vector<Connection> connections;
        while (!stop_) {
            std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
            for (const auto& c : connections) {
                fds.push_back({c.fd, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
                break;
            }
            char drain[64];
            while (::read(wake_[0], drain, sizeof drain) > 0) {
            }
            for (;;) {
                const int fd =
                    ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    break;
                }
                connections.push_back({fd, {}});
            }
            for (std::size_t i = 0; i < connections.size();) {
                Connection& c = connections[i];
                bool gone = false;
                char buffer[4096];
                for (;;) {
                    const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
                    if (n > 0) {
                        c.received.append(buffer, static_cast<std::size_t>(n));
                        continue;
                    }
                    gone = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
                    break;
                }
                // The whole request has been read, so closing after the reply sends no reset.
                const bool answer =
                    !gone && released_ && c.received.find("\r\n\r\n") != std::string::npos;
                if (answer) {
                    static constexpr char kReply[] =
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                    (void)::send(c.fd, kReply, sizeof kReply - 1, MSG_NOSIGNAL);
                }
                if (gone || answer) {
                    ::close(c.fd);
                    connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
                    continue;
                }
                ++i;
            }
            held_ = connections.size();
        }
        for (const auto& c : connections) {
            ::close(c.fd);
        }
    }

    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<bool> released_{false};
    std::atomic<std::size_t> held_{0};
    std::thread thread_;
};

// Polls until done() holds. The bound is a hang guard, not a timing assertion.
bool wait_until(const std::function<bool()>& done, int seconds = 15) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

double sample_or_zero(const test::Samples& samples, const std::string& name) {
    const auto it = samples.find(name);
    return it == samples.end() ? 0 : it->second;
}

constexpr const char* kHoldModule =
    "modules:\n  hold:\n    prober: http\n    timeout: 20s\n"
    "  ping:\n    prober: icmp\n    timeout: 2s\n    icmp: {preferred_ip_protocol: ip4}\n";

std::string hold_targets(const std::vector<std::string>& urls) {
    std::string text = "targets:\n  - module: hold\n    interval: 1m\n    targets:\n";
    for (const auto& url : urls) {
        text += "      - " + url + "\n";
    }
    return text;
}

// sonde under `prlimit --nofile=soft:hard`.
std::vector<std::string> under_prlimit(const std::string& nofile, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/prlimit", "--nofile=" + nofile, SONDE_BINARY,
                                  "--web.listen-address=127.0.0.1:0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}
// The lowest descriptor number free now: the one the next socket gets.
int lowest_free_fd() {
    const int fd = ::dup(0);
    REQUIRE(fd >= 0);
    ::close(fd);
    return fd;
}

// The descriptor ceiling is process-wide: put "no bound" back whatever happens.
struct CeilingGuard {
    ~CeilingGuard() { net::FdBudget::set_ceiling(0); }
};

}  // namespace

TEST_CASE(
    "/probe past --probe.max-concurrent answers 503 with the reason, sharing the bound "
    "with scheduled runs",
    "[integration][limits]") {
    HoldServer hold;
    test::TempDir dir;
    const std::string file = dir.write("sonde.yml", kHoldModule);
    test::SondeProcess sonde({"--config.file=" + file, "--probe.max-concurrent=2"});
    const std::uint16_t port = sonde.port();
    const std::string probe = "/probe?module=hold&target=" + hold.url();

    // A scheduled run takes one slot (a target added by a reload runs within a second) ...
    dir.write("sonde.yml", kHoldModule + hold_targets({hold.url("/scheduled")}));
    REQUIRE(test::http_request(port, "POST", "/-/reload").status == 200);
    REQUIRE(wait_until([&] { return hold.held() == 1; }));
    // ... and a /probe the other.
    test::HttpReply first;
    std::thread first_thread([&] { first = test::http_request(port, "GET", probe); });
    REQUIRE(wait_until([&] { return hold.held() == 2; }));

    const auto refused = test::http_request(port, "GET", probe);
    CHECK(refused.status == 503);
    CHECK(refused.body.find("Too many probes in flight") != std::string::npos);
    CHECK(refused.body.find("all 2 slots of --probe.max-concurrent") != std::string::npos);
    auto samples = test::scrape_metrics(port);
    CHECK(samples.at("sonde_probe_requests_rejected_total{reason=\"concurrency\"}") == 1);
    CHECK(samples.at("sonde_probe_concurrency_limit") == 2);
    CHECK(samples.at("sonde_inflight_probes") == 2);
    CHECK(test::http_request(port, "GET", "/-/healthy").status == 200);

    // Once the held probes end their slots are free again.
    hold.release();
    first_thread.join();
    CHECK(first.status == 200);
    CHECK(first.body.find("probe_success 1") != std::string::npos);
    REQUIRE(
        wait_until([&] { return test::scrape_metrics(port).at("sonde_inflight_probes") == 0; }));
    const auto again = test::http_request(port, "GET", probe);
    CHECK(again.status == 200);
    CHECK(again.body.find("probe_success 1") != std::string::npos);
    CHECK(test::scrape_metrics(port).at(
              "sonde_probe_requests_rejected_total{reason=\"concurrency\"}") == 1);
}

TEST_CASE("the flag --web.max-connections caps sonde's own connections", "[integration][limits]") {
    test::TempDir dir;
    const std::string file = dir.write("sonde.yml", kHoldModule);
    test::SondeProcess sonde({"--config.file=" + file, "--web.max-connections=3"});
    // Three idle connections (sonde accepts in arrival order, so these are accepted first).
    std::vector<int> idle;
    for (int i = 0; i < 3; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(sonde.port());
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        idle.push_back(fd);
    }
    // The fourth is accepted and closed at once: no answer. With the default cap (1,024) it
    // would be served.
    CHECK(test::http_request(sonde.port(), "GET", "/-/healthy").status == 0);
    // One idle connection goes: there is room again once sonde has seen it go.
    ::close(idle.back());
    idle.pop_back();
    CHECK(wait_until(
        [&] { return test::http_request(sonde.port(), "GET", "/-/healthy").status == 200; }));
    for (const int fd : idle) {
        ::close(fd);
    }
}

TEST_CASE("sonde raises its soft open files limit to the hard one", "[integration][limits]") {
    test::TempDir dir;
    const std::string file = dir.write("sonde.yml", kHoldModule);
    test::SondeProcess sonde(under_prlimit("64:256", {"--config.file=" + file}),
                             test::kSondeListeningPattern, 0);
    CHECK(test::scrape_metrics(sonde.port()).at("process_max_fds") == 256);
    CHECK(sonde.output().find("Raised the open files limit") != std::string::npos);
}

TEST_CASE(
    "past the descriptors left for probes, probes fail with too many open files, sonde "
    "keeps serving and recovers",
    "[integration][limits]") {
    HoldServer hold;
    test::TempDir dir;
    const std::string file = dir.write("sonde.yml", kHoldModule);
    // 64 descriptors, 32 of them kept for serving: the probes get what the 32 below leave.
    test::SondeProcess sonde(under_prlimit("64:64", {"--config.file=" + file}),
                             test::kSondeListeningPattern, 0);
    const std::uint16_t port = sonde.port();
    CHECK(test::scrape_metrics(port).at("process_max_fds") == 64);

    // Sixty probes at once (new targets of a reload all run within a second), each holding a
    // descriptor: far more than there are.
    constexpr int kTargets = 60;
    std::vector<std::string> urls;
    for (int i = 0; i < kTargets; ++i) {
        urls.push_back(hold.url("/" + std::to_string(i)));
    }
    dir.write("sonde.yml", kHoldModule + hold_targets(urls));
    REQUIRE(test::http_request(port, "POST", "/-/reload").status == 200);
    const std::string failures = "sonde_probe_failures_total{module=\"hold\",reason=\"internal\"}";
    double failed = 0;
    REQUIRE(wait_until([&] {
        failed = sample_or_zero(test::scrape_metrics(port), failures);
        return static_cast<int>(failed) + static_cast<int>(hold.held()) == kTargets;
    }));
    INFO("held " << hold.held() << ", failed " << failed);
    CHECK(hold.held() >= 10);
    CHECK(failed >= 10);
    CHECK(sonde.output().find("too many open files") != std::string::npos);

    // Meanwhile sonde's own endpoints answer, and a /probe fails saying why.
    for (int i = 0; i < 20; ++i) {
        CHECK(test::http_request(port, "GET", "/-/healthy").status == 200);
    }
    for (int i = 0; i < 5; ++i) {
        CHECK(test::scrape_metrics(port).at("sonde_scheduled_targets") == kTargets);
    }
    const auto refused =
        test::http_request(port, "GET", "/probe?module=hold&debug=true&target=" + hold.url());
    CHECK(refused.status == 200);
    CHECK(refused.body.find("too many open files") != std::string::npos);
    CHECK(refused.body.find("probe_success 0") != std::string::npos);
    // The first ping opens the ICMP pool's socket, which lives on: not from the reserve either
    // (root or CAP_NET_RAW needed for it; CI runs as root).
    const bool can_ping = ::geteuid() == 0;
    if (can_ping) {
        const auto ping =
            test::http_request(port, "GET", "/probe?module=ping&debug=true&target=127.0.0.1");
        CHECK(ping.body.find("socket: too many open files") != std::string::npos);
        CHECK(ping.body.find("probe_success 0") != std::string::npos);
    }

    // The held probes end, their descriptors are freed: probes work again.
    hold.release();
    CHECK(wait_until([&] {
        const auto reply =
            test::http_request(port, "GET", "/probe?module=hold&target=" + hold.url());
        return reply.body.find("probe_success 1") != std::string::npos;
    }));
    if (can_ping) {
        const auto ping = test::http_request(port, "GET", "/probe?module=ping&target=127.0.0.1");
        CHECK(ping.body.find("probe_success 1") != std::string::npos);
    }
    CHECK(test::http_request(port, "GET", "/-/healthy").status == 200);
}

TEST_CASE(
    "probe sockets past the descriptor ceiling are refused, closed, and allowed again "
    "when it lifts",
    "[integration][limits]") {
    test::ThreadedHttpServer server(
        [](const net::HttpRequest&) { return net::HttpResponse::text(200, "ok"); });
    test::ProbeHarness h;
    h.load(R"(modules:
  http_2xx:
    prober: http
  tcp_connect:
    prober: tcp
  dns_udp:
    prober: dns
    dns:
      query_name: example.org
      transport_protocol: udp
)");
    CeilingGuard guard;
    // A first probe lets the loop open what it keeps for good (libuv's spare descriptor for
    // EMFILE, opened with the first stream), so that what is left open afterwards is a leak.
    REQUIRE(h.run("http_2xx", "http://" + server.address() + "/").success);
    const int lowest = lowest_free_fd();
    // Every socket a probe opens now is numbered at least `lowest`: all refused.
    net::FdBudget::set_ceiling(static_cast<std::uint64_t>(lowest));
    const auto refused_before = net::FdBudget::refused();

    auto http = h.run("http_2xx", "http://" + server.address() + "/");
    INFO(http.log.text());
    CHECK_FALSE(http.success);
    CHECK(http.failure == modules::FailureKind::Internal);
    CHECK(http.detail.find("too many open files") != std::string::npos);
    CHECK(http.log.text().find("too many open files") != std::string::npos);

    auto tcp = h.run("tcp_connect", server.address());
    CHECK_FALSE(tcp.success);
    CHECK(tcp.failure == modules::FailureKind::Connect);
    CHECK(tcp.detail.find("too many open files") != std::string::npos);

    auto dns = h.run("dns_udp", "127.0.0.1:53");
    CHECK_FALSE(dns.success);
    CHECK(dns.log.text().find("too many open files") != std::string::npos);

    CHECK(net::FdBudget::refused() >= refused_before + 3);
    // Each refused socket was closed at once.
    CHECK(lowest_free_fd() == lowest);

    net::FdBudget::set_ceiling(0);
    CHECK(h.run("http_2xx", "http://" + server.address() + "/").success);
    CHECK(h.run("tcp_connect", server.address()).success);
    REQUIRE(h.close() == 0);
}

namespace {

struct LimitedScheduler {
    test::LoopFixture fx{20000};
    std::unique_ptr<net::Resolver> resolver;
    app::SelfMetrics metrics;
    std::shared_ptr<const app::RuntimeConfig> runtime;
    std::unique_ptr<app::ProbeAdmission> admission;
    std::unique_ptr<app::Scheduler> scheduler;

    explicit LimitedScheduler(std::size_t slots) {
        auto r = net::Resolver::create(fx.loop());
        REQUIRE(r.has_value());
        resolver = std::move(*r);
        auto loaded = config::load_config_text(kHoldModule, "test.yml");
        REQUIRE(loaded.has_value());
        auto built = app::build_runtime(loaded->config);
        REQUIRE(built.has_value());
        runtime = *built;
        admission = std::make_unique<app::ProbeAdmission>(slots, fx.loop());
        app::Scheduler::Options options{0.5, {}};
        options.admission = admission.get();
        scheduler = std::make_unique<app::Scheduler>(
            app::ProbeEnvironment{fx.loop(), *resolver, LogLevel::Error, nullptr}, metrics, options,
            [this] { return runtime; });
        // A first, empty set: the targets handed over next are new and run within a second.
        scheduler->update("static", {});
    }

    test::Samples samples() const {
        std::map<std::string, prometheus::MetricFamily> families;
        scheduler->collect(families);
        return test::parse_samples(metrics.render(std::move(families)));
    }

    // Runs the loop for ms milliseconds.
    void run_for(std::uint64_t ms) {
        bool fired = false;
        UvHandle<uv_timer_t> timer;
        REQUIRE(timer.init(&fired,
                           [&](uv_timer_t* t) { return uv_timer_init(fx.loop().raw(), t); }) == 0);
        uv_timer_start(
            timer.get(), [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, ms, 0);
        REQUIRE(fx.run_until([&] { return fired; }));
    }

    int close() {
        scheduler.reset();
        admission.reset();
        resolver.reset();
        return fx.close();
    }
};

discovery::Target hold_target(const std::string& url) {
    return discovery::Target{"hold", url, std::chrono::hours(1), {}};
}

}  // namespace

TEST_CASE("scheduled runs past the bound wait for a slot, and the lag metric shows the wait",
          "[integration][limits]") {
    HoldServer hold;
    LimitedScheduler s(1);
    const auto a = hold_target(hold.url("/a"));
    const auto b = hold_target(hold.url("/b"));
    s.scheduler->update("static", {a, b});
    REQUIRE(s.fx.run_until([&] { return s.scheduler->waiting() == 1; }));
    CHECK(s.scheduler->running() == 1);
    CHECK(s.admission->in_use() == 1);

    SECTION("the waiting run starts when the slot frees, late") {
        // The waiting run was due by now; it cannot start before the release below.
        const std::uint64_t waiting_since = uv_hrtime();
        s.run_for(300);
        CHECK(s.scheduler->waiting() == 1);
        CHECK(s.samples().at("sonde_scheduler_lag_seconds_count") == 1);
        const std::uint64_t released_at = uv_hrtime();
        hold.release();
        REQUIRE(s.fx.run_until([&] {
            const auto samples = s.samples();
            return samples.count("probe_success{module=\"hold\",target=\"" + a.target + "\"}") &&
                   samples.count("probe_success{module=\"hold\",target=\"" + b.target + "\"}");
        }));
        const auto samples = s.samples();
        CHECK(samples.at("probe_success{module=\"hold\",target=\"" + a.target + "\"}") == 1);
        CHECK(samples.at("probe_success{module=\"hold\",target=\"" + b.target + "\"}") == 1);
        // Both ran (delayed, not dropped); the second's lag covers at least its wait.
        CHECK(samples.at("sonde_scheduler_lag_seconds_count") == 2);
        CHECK(samples.at("sonde_scheduler_lag_seconds_sum") >=
              static_cast<double>(released_at - waiting_since) / 1e9);
        CHECK(samples.at("sonde_scheduler_skipped_runs_total") == 0);
        CHECK(s.scheduler->waiting() == 0);
    }
    SECTION("a removed target leaves the queue or gives its slot back") {
        // Which of the two runs first is up to their hashes: a removed waiting target leaves
        // the queue; a removed running one is cancelled and its slot goes to the other.
        s.scheduler->update("static", {a});
        REQUIRE(s.fx.run_until(
            [&] { return s.scheduler->running() == 1 && s.scheduler->waiting() == 0; }));
        CHECK(s.admission->in_use() == 1);
        CHECK(s.admission->waiting() == 0);
        hold.release();
        const std::string success_a = "probe_success{module=\"hold\",target=\"" + a.target + "\"}";
        REQUIRE(s.fx.run_until([&] { return s.samples().count(success_a) == 1; }));
        CHECK(s.samples().at(success_a) == 1);
        CHECK(s.samples().count("probe_success{module=\"hold\",target=\"" + b.target + "\"}") == 0);
        CHECK(s.admission->in_use() == 0);
    }
    SECTION("the scheduler destroyed while a run waits") {
        s.scheduler.reset();
        CHECK(s.admission->waiting() == 0);
        CHECK(s.admission->in_use() == 0);
    }
    hold.release();
    REQUIRE(s.close() == 0);
}

}  // namespace sonde

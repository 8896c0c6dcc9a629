// The unix prober (prober: unix): the tcp prober's query_response dialog over a unix domain
// stream socket whose path is the target. Debian's exporter 0.23 has no unix prober (it came in
// 0.28), so there is no side-by-side case; the expected texts are the reference's (§1.5, §3).
#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::metric_value;

constexpr const char* kUnixModules = R"yaml(modules:
  unix_banner:
    prober: unix
    timeout: 2s
    unix:
      query_response:
        - expect: "^hello"
        - send: "ping\n"
        - expect: "^pong"
  unix_wrong_banner:
    prober: unix
    timeout: 2s
    unix:
      query_response:
        - expect: "^welcome"
)yaml";

// A unix socket server on its own thread: greets each connection with "hello", answers a
// "ping" line with "pong" (unless greet_only: it closes after the greeting), then closes.
// Counts the connections it accepted.
class UnixBannerServer {
public:
    explicit UnixBannerServer(std::string path, bool greet_only = false)
        : path_(std::move(path)), greet_only_(greet_only) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(path_.size() < sizeof addr.sun_path);
        path_.copy(addr.sun_path, path_.size());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~UnixBannerServer() {
        ::shutdown(fd_, SHUT_RDWR);  // wakes the blocking accept
        thread_.join();
        ::close(fd_);
    }
    UnixBannerServer(const UnixBannerServer&) = delete;
    UnixBannerServer& operator=(const UnixBannerServer&) = delete;

    int accepted() const { return accepted_; }

private:
    void serve() {
        for (;;) {
            const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn < 0) {
                return;
            }
            ++accepted_;
            const std::string hello = "hello\n";
            (void)!::write(conn, hello.data(), hello.size());
            if (greet_only_) {
                ::close(conn);
                continue;
            }
            std::string line;
            char c = 0;
            while (::read(conn, &c, 1) == 1 && c != '\n') {
                line += c;
            }
            if (line == "ping") {
                const std::string pong = "pong\n";
                (void)!::write(conn, pong.data(), pong.size());
            }
            ::close(conn);
        }
    }

    std::string path_;
    bool greet_only_ = false;
    int fd_ = -1;
    std::thread thread_;
    std::atomic<int> accepted_{0};
};

TEST_CASE("unix: the dialog runs over the socket at the target's path", "[integration][unix]") {
    test::TempDir dir;
    const std::string path = dir.path() + "/banner.sock";
    UnixBannerServer server(path);
    test::ProbeHarness h;
    h.load(kUnixModules);
    const auto report = h.run("unix_banner", path);
    INFO(report.detail);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_success") == 1);
    CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 0);
    // No address is resolved for a path: none of the IP metrics.
    CHECK_FALSE(metric_value(*report.registry, "probe_ip_protocol").has_value());
    CHECK(server.accepted() == 1);
    REQUIRE(h.close() == 0);
}

TEST_CASE("unix: an expectation the server does not meet fails the probe", "[integration][unix]") {
    test::TempDir dir;
    const std::string path = dir.path() + "/banner.sock";
    // The server closes after its greeting: the expect reads to EOF without a match (a server
    // that kept the connection open would hold the probe until its deadline, as in the exporter).
    UnixBannerServer server(path, /*greet_only=*/true);
    test::ProbeHarness h;
    h.load(kUnixModules);
    const auto report = h.run("unix_wrong_banner", path);
    INFO(report.detail);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Validation);
    CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 1);
    REQUIRE(h.close() == 0);
}

TEST_CASE("unix: a path with no socket fails to connect, saying so", "[integration][unix]") {
    test::TempDir dir;
    const std::string path = dir.path() + "/absent.sock";
    test::ProbeHarness h;
    h.load(kUnixModules);
    const auto report = h.run("unix_banner", path);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Connect);
    CHECK(report.detail.rfind("dial unix " + path + ": connect: ", 0) == 0);
    CHECK(metric_value(*report.registry, "probe_success") == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("unix: a path too long for sun_path is refused, not cut", "[integration][unix]") {
    test::TempDir dir;
    // 108 bytes of path: libuv 1.44 would cut it to 107 and connect to another socket.
    const std::string path = dir.path() + "/" + std::string(108 - dir.path().size() - 1, 's');
    REQUIRE(path.size() == 108);
    UnixBannerServer server(path.substr(0, 107));
    test::ProbeHarness h;
    h.load(kUnixModules);
    const auto report = h.run("unix_banner", path);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Connect);
    CHECK(report.detail == "dial unix " + path + ": connect: EINVAL: invalid argument");
    CHECK(server.accepted() == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("unix: a probe destroyed while connecting is clean", "[integration][unix]") {
    test::TempDir dir;
    const std::string path = dir.path() + "/banner.sock";
    UnixBannerServer server(path);
    test::ProbeHarness h;
    h.load(kUnixModules);
    std::optional<app::ProbeReport> report;
    auto run = h.start("unix_banner", path, 2, &report);
    run.reset();
    CHECK_FALSE(report.has_value());
    REQUIRE(h.close() == 0);
}

// TLS over a unix socket, against a real peer: `openssl s_server -unix`. As in the exporter
// (Go's tls.Client), a path gives no name to verify: tls_config.server_name must say it.
TEST_CASE("unix: TLS over the socket, verified against the CA and the configured name",
          "[integration][unix][tls]") {
    test::TempDir dir;
    const auto ca = test::make_ca("Unix TLS CA");
    const auto leaf = test::make_signed(test::localhost_spec(), ca);
    const std::string cert = dir.write("cert.pem", leaf.cert_pem);
    const std::string key = dir.write("key.pem", leaf.key_pem);
    const std::string ca_file = dir.write("ca.pem", ca.cert_pem);
    const std::string path = dir.path() + "/tls.sock";
    test::SondeProcess server(
        {"/usr/bin/openssl", "s_server", "-unix", path, "-cert", cert, "-key", key, "-www"},
        "ACCEPT", 0);
    test::ProbeHarness h;
    h.load(
        "modules:\n  unix_tls:\n    prober: unix\n    timeout: 2s\n    unix:\n"
        "      tls: true\n      tls_config: {ca_file: " +
        ca_file +
        ", server_name: localhost}\n"
        "  unix_tls_no_name:\n    prober: unix\n    timeout: 2s\n    unix:\n"
        "      tls: true\n      tls_config: {ca_file: " +
        ca_file + "}\n");
    auto report = h.run("unix_tls", path);
    INFO(report.detail);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(leaf.not_after));
    CHECK(metric_value(*report.registry, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1);

    report = h.run("unix_tls_no_name", path);
    INFO(report.detail);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Tls);
    CHECK(report.detail.find("either server_name or insecure_skip_verify") != std::string::npos);
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

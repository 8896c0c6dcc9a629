// 10,000 probes against hostile peers, run concurrently with short timeouts and mixed kinds:
// every one must fail by its deadline with a reason, and afterwards the process holds exactly
// the file descriptors it held before (counted in /proc/self/fd) and its resident memory has
// grown by less than 20 MB since a warm-up round.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "config/loader.hpp"
#include "prober/app/module_runtime.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/build_flavor.hpp"
#include "tests/support/dns_test_server.hpp"
#include "tests/support/hostile_modules.hpp"
#include "tests/support/hostile_tcp_server.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::Hostility;

// Under the sanitizers every probe costs several times more CPU: fewer of them keep the case
// inside ctest's limit while running the same paths.
constexpr int kProbes = test::kSanitized ? 3000 : 10000;
constexpr int kWarmUp = 1000;
constexpr double kTimeout = 0.2;
// Lateness allowed past the deadline with a thousand probes in flight on one loop (TLS
// handshakes included) on a machine shared with other builds.
constexpr double kResourcesSlack = test::kSanitized ? 4.0 : 2.5;
constexpr double kMaxRssGrowthBytes = 20.0 * 1024 * 1024;

int open_descriptors() {
    int count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    REQUIRE(dir != nullptr);
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            ++count;
        }
    }
    ::closedir(dir);
    return count - 1;  // the directory stream's own descriptor
}

// Resident memory after returning the allocator's free pages to the system (glibc keeps freed
// memory of a thousand concurrent probes cached, and how much depends on timing): what is left
// is what the process still uses, so a leak shows and fragmentation does not.
double resident_bytes() {
    ::malloc_trim(0);
    std::FILE* statm = std::fopen("/proc/self/statm", "r");
    REQUIRE(statm != nullptr);
    long size = 0;
    long resident = 0;
    const int read = std::fscanf(statm, "%ld %ld", &size, &resident);
    std::fclose(statm);
    REQUIRE(read == 2);
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// Raises the soft descriptor limit to the hard one and returns it.
rlim_t raise_descriptor_limit() {
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &limit);
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    }
    return limit.rlim_cur;
}

struct Kind {
    std::string module;
    std::string target;
};

struct Tally {
    int reports = 0;
    std::map<std::string, int> by_reason;  // "<failure kind>: <detail>" or "success"
    int without_reason = 0;
    double max_duration = 0;
};

// Probes on one loop with one resolver, as the exporter runs them, each module's TLS context
// built once.
class Runner {
public:
    // The watchdog allows for a busy machine (about 5 s on a quiet one) within ctest's 30 s.
    explicit Runner(const std::string& config_yaml) : fx_(25000) {
        auto resolver = net::Resolver::create(fx_.loop());
        REQUIRE(resolver.has_value());
        resolver_ = std::move(resolver.value());
        auto loaded = config::load_config_text(config_yaml, "test.yml");
        if (!loaded) {
            FAIL(loaded.error());
        }
        config_ = loaded->config;
        for (const auto& [name, module] : config_->modules) {
            auto tls = app::build_tls_context(module);
            if (!tls) {
                FAIL(tls.error());
            }
            tls_[name] = *tls;
        }
    }

    Loop& loop() { return fx_.loop(); }
    test::LoopFixture& fixture() { return fx_; }

    std::unique_ptr<app::ProbeRun> start(const std::string& module, const std::string& target,
                                         app::ProbeRun::Report report) {
        app::ProbeRequest request;
        request.config = config_;
        request.module_name = module;
        request.target = target;
        request.timeout_seconds = kTimeout;
        request.tls = tls_.at(module);
        return app::ProbeRun::start(app::ProbeEnvironment{fx_.loop(), *resolver_},
                                    std::move(request), std::move(report));
    }

    int close() {
        resolver_.reset();
        return fx_.close();
    }

private:
    test::LoopFixture fx_;
    std::unique_ptr<net::Resolver> resolver_;
    std::shared_ptr<const config::Config> config_;
    std::map<std::string, std::shared_ptr<const net::TlsClientContext>> tls_;
};

// Keeps `concurrency` probes in flight until `total` have reported, cycling through the kinds.
class Barrage {
public:
    Barrage(Runner& h, std::vector<Kind> kinds, int concurrency)
        : h_(h), kinds_(std::move(kinds)), slots_(static_cast<std::size_t>(concurrency)) {}

    Tally run(int total) {
        tally_ = {};
        started_ = 0;
        total_ = total;
        for (std::size_t i = 0; i < slots_.size() && started_ < total_; ++i) {
            launch(i);
        }
        REQUIRE(h_.fixture().run_until([&] { return tally_.reports == total_; }));
        return tally_;
    }

private:
    void launch(std::size_t slot) {
        const auto& kind = kinds_[static_cast<std::size_t>(started_) % kinds_.size()];
        ++started_;
        slots_[slot] = h_.start(kind.module, kind.target, [this, slot](app::ProbeReport r) {
            ++tally_.reports;
            tally_.max_duration = std::max(tally_.max_duration, r.duration_seconds);
            if (!r.success && r.detail.empty()) {
                ++tally_.without_reason;
            }
            ++tally_.by_reason[r.success ? std::string("success")
                                         : std::string(modules::failure_kind_name(r.failure)) +
                                               ": " + r.detail];
            // Inside the run's own report: it may only be deleted later.
            h_.loop().defer_delete(std::move(slots_[slot]));
            if (started_ < total_) {
                launch(slot);
            }
        });
    }

    Runner& h_;
    std::vector<Kind> kinds_;
    std::vector<std::unique_ptr<app::ProbeRun>> slots_;
    Tally tally_;
    int started_ = 0;
    int total_ = 0;
};

TEST_CASE("hostile: 10,000 probes against hostile peers leave no descriptor and no growth",
          "[integration][hostile]") {
    const rlim_t limit = raise_descriptor_limit();
    const test::TestCert ca = test::make_ca("sonde hostile CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    auto tls = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
    REQUIRE(tls.has_value());

    Runner h(test::hostile_modules_yaml(ca_file.path()));
    {
        test::HostileTcpServer silent(h.loop(), {Hostility::Silent});
        test::HostileOptions drip{Hostility::Drip};
        drip.interval_ms = 1000;
        drip.script = "220 this banner takes a while\r\n";
        test::HostileTcpServer slowloris(h.loop(), drip);
        // http gets its own slow server that drips a valid response: the tcp banner's first
        // byte, if it arrives before the deadline, is a protocol error to an http probe.
        test::HostileOptions http_drip{Hostility::Drip};
        http_drip.interval_ms = 1000;
        http_drip.script = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
        test::HostileTcpServer http_slowloris(h.loop(), http_drip);
        test::HostileOptions headers{Hostility::EndlessHeaders};
        headers.interval_ms = 20;
        test::HostileTcpServer endless_headers(h.loop(), headers);
        test::HostileOptions body{Hostility::EndlessBody};
        body.interval_ms = 20;
        test::HostileTcpServer endless_body(h.loop(), body);
        test::HostileOptions stall{Hostility::TlsStall};
        stall.tls = *tls;
        test::HostileTcpServer tls_stall(h.loop(), stall);
        test::DnsTestServer wrong_ids(h.loop(), [](std::string_view q) {
            return std::vector<test::DnsReply>{{test::with_id(
                test::dns_reply(q, 0), static_cast<std::uint16_t>(test::dns_query_id(q) + 1))}};
        });

        const std::vector<Kind> kinds = {
            {"tcp_banner", silent.address()},
            {"tcp_banner", slowloris.address()},
            {"http", "http://" + http_slowloris.address() + "/"},
            {"http", "http://" + endless_headers.address() + "/"},
            {"http", "http://" + endless_body.address() + "/"},
            {"tcp_tls", tls_stall.address()},
            {"https", "https://" + tls_stall.address() + "/"},
            {"dns_udp", wrong_ids.udp_address()},
            {"dns_tcp", silent.address()},
        };
        const std::vector<const test::HostileTcpServer*> servers = {
            &silent, &slowloris, &http_slowloris, &endless_headers, &endless_body, &tls_stall};
        auto settle = [&] {
            // Every server saw its peers go; deferred deletions ran.
            REQUIRE(h.fixture().run_until([&] {
                return std::all_of(servers.begin(), servers.end(),
                                   [](const auto* s) { return s->open_connections() == 0; });
            }));
            for (int i = 0; i < 5; ++i) {
                h.loop().run_once_nowait();
            }
        };

        // Each TCP probe holds two descriptors (its socket and the server's side).
        const int concurrency =
            static_cast<int>(std::min<rlim_t>(1000, (limit > 200 ? limit - 200 : 0) / 3));
        REQUIRE(concurrency >= 100);
        Barrage barrage(h, kinds, concurrency);

        const int fds_before = open_descriptors();
        const auto warm = barrage.run(kWarmUp);
        settle();
        const int fds_warm = open_descriptors();
        const double rss_warm = resident_bytes();

        const std::uint64_t started = uv_hrtime();
        const auto tally = barrage.run(kProbes);
        const double seconds = static_cast<double>(uv_hrtime() - started) / 1e9;
        settle();
        const int fds_after = open_descriptors();
        const double rss_after = resident_bytes();
        // SONDE_HOSTILE_REPEAT=1 runs three more rounds and prints where RSS settles (measured:
        // 39 MiB after warm-up, 51 after the first 10,000, then 61, 61, 61: a plateau of the
        // allocator's high water, not a leak that grows with every probe).
        if (std::getenv("SONDE_HOSTILE_REPEAT") != nullptr) {
            for (int i = 0; i < 3; ++i) {
                (void)barrage.run(kProbes);
                settle();
                WARN("repeat " << i << ": RSS " << resident_bytes() / 1048576.0 << " MiB, fds "
                               << open_descriptors());
            }
        }

        std::string reasons;
        for (const auto& [reason, count] : tally.by_reason) {
            reasons += std::to_string(count) + " x " + reason + "\n";
        }
        INFO(reasons);
        WARN("hostile barrage: " << kProbes << " probes, " << concurrency << " at once, in "
                                 << seconds << " s; descriptors " << fds_before << " before, "
                                 << fds_warm << " after warm-up, " << fds_after << " after; RSS "
                                 << rss_warm / 1048576.0 << " MiB after warm-up, "
                                 << rss_after / 1048576.0 << " MiB after; slowest report "
                                 << tally.max_duration << " s");
        CHECK(warm.reports == kWarmUp);
        CHECK(tally.reports == kProbes);
        CHECK(tally.without_reason == 0);
        // Every one of them was ended by its deadline, and reported within the slack.
        CHECK(tally.by_reason.size() == 1);
        CHECK(tally.by_reason.count("timeout: probe timed out after 0.2s") == 1);
        CHECK(tally.max_duration <= kTimeout + kResourcesSlack);
        CHECK(fds_warm == fds_before);
        CHECK(fds_after == fds_before);
        if (!test::kSanitized) {
            // ASan keeps freed memory in quarantine (256 MB in this process, whose options are
            // fixed at its start): RSS grows by that whatever the probes do. LeakSanitizer checks
            // this build at exit; the plain build checks the growth.
            CHECK(rss_after - rss_warm < kMaxRssGrowthBytes);
        }
        wrong_ids.close();
    }
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

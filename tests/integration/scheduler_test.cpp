// The scheduler on a real loop, probing real servers on loopback: results become series, a
// removed target loses its series and its run at once, unchanged targets keep their record
// across updates, and replicas split the targets.

#include "prober/app/scheduler.hpp"

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/loader.hpp"
#include "prober/app/metrics_text.hpp"
#include "prober/app/self_metrics.hpp"
#include "prober/net/resolver.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/silent_listener.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

constexpr const char* kSchedulerModules = R"(modules:
  tcp_connect:
    prober: tcp
  # Waits for a line the peer never sends: a run that stays in flight until its deadline.
  stall:
    prober: tcp
    timeout: 30s
    tcp:
      query_response:
        - expect: "^never"
)";

struct SchedulerFixture {
    test::LoopFixture fx{15000};
    std::unique_ptr<net::Resolver> resolver;
    app::SelfMetrics metrics;
    std::shared_ptr<const app::RuntimeConfig> runtime;
    std::unique_ptr<app::Scheduler> scheduler;

    explicit SchedulerFixture(app::ShardSpec shard = {}, std::size_t max_running = 10000) {
        auto r = net::Resolver::create(fx.loop());
        REQUIRE(r.has_value());
        resolver = std::move(*r);
        auto loaded = config::load_config_text(kSchedulerModules, "test.yml");
        REQUIRE(loaded.has_value());
        auto built = app::build_runtime(loaded->config);
        REQUIRE(built.has_value());
        runtime = *built;
        scheduler = std::make_unique<app::Scheduler>(
            app::ProbeEnvironment{fx.loop(), *resolver, LogLevel::Error, nullptr}, metrics,
            app::Scheduler::Options{0.5, shard, 3, max_running}, [this] { return runtime; });
    }

    test::Samples samples() const {
        std::map<std::string, prometheus::MetricFamily> families;
        scheduler->collect(families);
        std::vector<prometheus::MetricFamily> list;
        for (auto& [name, family] : families) {
            list.push_back(std::move(family));
        }
        return test::parse_samples(app::render_families(std::move(list)));
    }

    int close() {
        scheduler.reset();
        resolver.reset();
        return fx.close();
    }
};

discovery::Target target(const std::string& module, const std::string& address,
                         std::chrono::milliseconds interval = std::chrono::seconds(1)) {
    return discovery::Target{module, address, interval, {{"team", "web"}}};
}

std::string series(const discovery::Target& t) {
    return "module=\"" + t.module + "\",target=\"" + t.target + "\",team=\"web\"";
}

// The labels of a target's sonde_target_probes_total series for `result`, sorted by name.
std::string runs(const discovery::Target& t, const std::string& result) {
    return "sonde_target_probes_total{module=\"" + t.module + "\",result=\"" + result +
           "\",target=\"" + t.target + "\",team=\"web\"}";
}

}  // namespace

TEST_CASE("a scheduled target's result becomes series, and they vanish with the target",
          "[integration][scheduler]") {
    test::ThreadedTcpServer server("hello\n");
    SchedulerFixture s;
    const auto up = target("tcp_connect", server.address());
    s.scheduler->update("static", {up});
    CHECK(s.scheduler->scheduled() == 1);
    REQUIRE(s.fx.run_until([&] { return s.samples().count("probe_success{" + series(up) + "}"); }));
    auto samples = s.samples();
    CHECK(samples.at("probe_success{" + series(up) + "}") == 1);
    CHECK(samples.at(runs(up, "success")) == 1);
    CHECK(samples.at("sonde_scheduled_targets") == 1);

    // The same target handed over again with a new neighbour keeps its record and schedule.
    test::SilentListener silent;
    const auto stalled = target("stall", silent.address());
    s.scheduler->update("static", {up, stalled});
    CHECK(s.scheduler->scheduled() == 2);
    CHECK(s.samples().at(runs(up, "success")) >= 1);

    // Once the stalled target's run is in flight, removing it cancels the run at once (ASan
    // checks that nothing of it is touched afterwards) and drops every series of it.
    REQUIRE(s.fx.run_until([&] { return s.scheduler->running() == 1; }));
    s.scheduler->update("static", {});
    CHECK(s.scheduler->scheduled() == 0);
    CHECK(s.scheduler->running() == 0);
    samples = s.samples();
    CHECK(samples.count("probe_success{" + series(up) + "}") == 0);
    CHECK(samples.count(runs(up, "success")) == 0);
    CHECK(samples.at("sonde_scheduled_targets") == 0);
    REQUIRE(s.close() == 0);
}

TEST_CASE("destroying the scheduler with a run in flight cancels it cleanly",
          "[integration][scheduler]") {
    test::SilentListener silent;
    SchedulerFixture s;
    s.scheduler->update("static", {target("stall", silent.address())});
    REQUIRE(s.fx.run_until([&] { return s.scheduler->running() == 1; }));
    REQUIRE(s.close() == 0);
}

TEST_CASE("replicas split the targets between them, each exactly once",
          "[integration][scheduler]") {
    discovery::TargetSet all;
    for (int i = 0; i < 40; ++i) {
        // Hourly: nothing runs during the test, only the assignment is looked at.
        all.push_back(
            target("tcp_connect", "127.0.0.1:" + std::to_string(1000 + i), std::chrono::hours(1)));
    }
    SchedulerFixture first(app::ShardSpec{0, 2});
    SchedulerFixture second(app::ShardSpec{1, 2});
    first.scheduler->update("static", all);
    second.scheduler->update("kubernetes", all);
    CHECK(first.scheduler->known() == 40);
    CHECK(second.scheduler->known() == 40);
    CHECK(first.scheduler->scheduled() + second.scheduler->scheduled() == 40);
    CHECK(first.scheduler->scheduled() > 0);
    CHECK(second.scheduler->scheduled() > 0);

    // A target listed by two sources is scheduled once.
    first.scheduler->update("kubernetes", all);
    CHECK(first.scheduler->known() == 40);
    CHECK(first.scheduler->scheduled() + second.scheduler->scheduled() == 40);
    REQUIRE(first.close() == 0);
    REQUIRE(second.close() == 0);
}
}  // namespace sonde

namespace sonde {

TEST_CASE("a target that appears after a source's first set is probed at once, not at its phase",
          "[integration][scheduler]") {
    test::ThreadedTcpServer server("hello\n");
    SchedulerFixture s;
    // Hourly targets: the first set waits for its phases (somewhere in the hour).
    s.scheduler->update("kubernetes",
                        {target("tcp_connect", "127.0.0.1:1", std::chrono::hours(1))});
    const auto added = target("tcp_connect", server.address(), std::chrono::hours(1));
    s.scheduler->update("kubernetes",
                        {target("tcp_connect", "127.0.0.1:1", std::chrono::hours(1)), added});
    // Within a second (the watchdog is the bound), not within the hour.
    REQUIRE(
        s.fx.run_until([&] { return s.samples().count("probe_success{" + series(added) + "}"); }));
    CHECK(s.samples().at("probe_success{" + series(added) + "}") == 1);
    REQUIRE(s.close() == 0);
}

}  // namespace sonde

namespace sonde {

TEST_CASE("a target's run that lasts its whole interval is never overlapped by the next",
          "[integration][scheduler]") {
    // The stall module's 30 s timeout is capped to the 1 s interval: each run lasts until its
    // deadline, which falls on the next slot. That slot is skipped, not run beside it.
    test::SilentListener silent;
    SchedulerFixture s;
    s.scheduler->update("static", {target("stall", silent.address())});
    std::size_t most_running = 0;
    REQUIRE(s.fx.run_until([&] {
        most_running = std::max(most_running, s.scheduler->running());
        return s.scheduler->skipped_runs() >= 1;
    }));
    CHECK(most_running == 1);
    CHECK(s.samples().at("sonde_scheduler_skipped_runs_total") >= 1);
    REQUIRE(s.close() == 0);
}

}  // namespace sonde

namespace sonde {
namespace {

// The scheduler's own gauges plus its targets' series, rendered in pieces of `budget` bytes.
struct PieceRender {
    app::SlicedRender render;
    std::string text;
    int pieces = 0;

    PieceRender(const app::Scheduler& scheduler) : render(summary(scheduler), scheduler.series()) {}

    static std::vector<prometheus::MetricFamily> summary(const app::Scheduler& scheduler) {
        std::map<std::string, prometheus::MetricFamily> families;
        scheduler.collect_summary(families);
        std::vector<prometheus::MetricFamily> list;
        for (auto& [name, family] : families) {
            list.push_back(std::move(family));
        }
        return list;
    }
    bool next(std::size_t budget) {
        ++pieces;
        return render.next(text, budget);
    }
};

}  // namespace

TEST_CASE("targets' series rendered in pieces equal the reference; removals mid-render are safe",
          "[integration][scheduler][metrics_text]") {
    test::ThreadedTcpServer server("hello\n");
    SchedulerFixture s;
    std::vector<discovery::Target> targets;
    for (int i = 0; i < 40; ++i) {
        targets.push_back(discovery::Target{
            "tcp_connect", server.address(), std::chrono::seconds(5), {{"n", std::to_string(i)}}});
    }
    s.scheduler->update("static", targets);
    REQUIRE(s.fx.run_until([&] {
        std::map<std::string, prometheus::MetricFamily> families;
        s.scheduler->collect(families);
        return families.count("probe_success") == 1 &&
               families.at("probe_success").metric.size() == targets.size();
    }));

    // Nothing runs between pieces here, so the text must be the reference's, byte for byte.
    std::map<std::string, prometheus::MetricFamily> families;
    s.scheduler->collect(families);
    std::vector<prometheus::MetricFamily> list;
    for (auto& [name, family] : families) {
        list.push_back(std::move(family));
    }
    const std::string expected = app::render_families(std::move(list));
    for (std::size_t budget : {std::size_t{1}, std::size_t{500}, std::size_t{1} << 20}) {
        PieceRender r(*s.scheduler);
        while (r.next(budget)) {
        }
        CHECK(r.text == expected);
        if (budget == 1) {
            CHECK(r.pieces > static_cast<int>(targets.size()));
        }
    }

    SECTION("targets removed mid-render are skipped, the rest rendered") {
        PieceRender r(*s.scheduler);
        for (int i = 0; i < 5; ++i) {
            REQUIRE(r.next(1));
        }
        // Keep the first ten: entries the render stands on or has yet to reach are freed.
        s.scheduler->update("static", {targets.begin(), targets.begin() + 10});
        while (r.next(100)) {
        }
        const auto samples = test::parse_samples(r.text);
        std::size_t runs = 0;
        for (const auto& [series, value] : samples) {
            runs += series.rfind("sonde_target_probes_total{", 0) == 0 ? 1 : 0;
        }
        CHECK(runs == 2 * 10);  // success and failure for each target left
    }
    SECTION("a render that outlives the scheduler ends without touching it") {
        PieceRender r(*s.scheduler);
        REQUIRE(r.next(1));
        s.scheduler.reset();
        while (r.next(1)) {
        }
        CHECK(r.text.find("sonde_target_probes_total{") == std::string::npos);
    }
    REQUIRE(s.close() == 0);
}

}  // namespace sonde

namespace sonde {

TEST_CASE("runs beyond the in-flight cap wait for a slot, not skipped",
          "[integration][scheduler]") {
    // Three targets whose runs last until their timeout, with room for two at a time: the
    // third waits for a slot and runs late rather than not at all.
    test::SilentListener silent;
    SchedulerFixture s({}, 2);
    std::vector<discovery::Target> targets;
    for (int i = 0; i < 3; ++i) {
        targets.push_back(discovery::Target{
            "stall", silent.address(), std::chrono::seconds(1), {{"n", std::to_string(i)}}});
    }
    s.scheduler->update("static", targets);
    std::size_t most_running = 0;
    auto all_ran = [&] {
        const auto samples = s.samples();
        for (int i = 0; i < 3; ++i) {
            if (samples.count("probe_success{module=\"stall\",n=\"" + std::to_string(i) +
                              "\",target=\"" + silent.address() + "\"}") == 0) {
                return false;
            }
        }
        return true;
    };
    REQUIRE(s.fx.run_until([&] {
        most_running = std::max(most_running, s.scheduler->running());
        return all_ran();
    }));
    CHECK(most_running == 2);
    // Removing every target cancels the runs and the count follows.
    s.scheduler->update("static", {});
    CHECK(s.scheduler->running() == 0);
    CHECK(s.scheduler->waiting() == 0);
    REQUIRE(s.close() == 0);
}

}  // namespace sonde

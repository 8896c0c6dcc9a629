#include "prober/app/probe_history.hpp"

#include <chrono>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

namespace sonde::app {
namespace {

ProbeHistoryEntry entry(const char* module, const char* target, bool success, const char* log) {
    ProbeHistoryEntry e;
    e.module_name = module;
    e.target = target;
    e.success = success;
    e.log = ProbeLogLines(module, target);
    e.log.add(std::chrono::system_clock::time_point{}, LogLevel::Info, log, {});
    return e;
}

bool logged(const ProbeHistoryEntry* e, std::string_view msg) {
    return e != nullptr && e->log.text().find("msg=" + std::string(msg) + " ") != std::string::npos;
}

TEST_CASE("history keeps the latest results, newest first", "[unit][history]") {
    ProbeHistory history(2);
    history.add(entry("m", "a", true, "1"));
    history.add(entry("m", "b", true, "2"));
    history.add(entry("m", "c", true, "3"));
    const auto entries = history.list();
    REQUIRE(entries.size() == 2);
    CHECK(entries[0]->target == "c");
    CHECK(entries[1]->target == "b");
    CHECK(history.by_id(0) == nullptr);
    REQUIRE(history.by_id(2) != nullptr);
    CHECK(logged(history.by_id(2), "3"));
}

TEST_CASE("failures pushed out of the window are retained", "[unit][history]") {
    ProbeHistory history(2);
    history.add(entry("m", "failing", false, "f"));
    history.add(entry("m", "a", true, ""));
    history.add(entry("m", "b", true, ""));
    history.add(entry("m", "c", true, ""));
    const auto entries = history.list();
    REQUIRE(entries.size() == 3);
    CHECK(entries.back()->target == "failing");
    CHECK(history.by_target("failing", std::nullopt) != nullptr);
}

TEST_CASE("lookup by target honours the module filter", "[unit][history]") {
    ProbeHistory history(10);
    history.add(entry("tcp", "t", true, "tcp-log"));
    history.add(entry("http", "t", false, "http-log"));
    CHECK(logged(history.by_target("t", std::nullopt), "http-log"));
    CHECK(logged(history.by_target("t", std::string("tcp")), "tcp-log"));
    CHECK(history.by_target("t", std::string("dns")) == nullptr);
    CHECK(history.by_target("u", std::nullopt) == nullptr);
}

}  // namespace
}  // namespace sonde::app

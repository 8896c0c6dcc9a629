#include "prober/app/probe_history.hpp"

#include <catch2/catch.hpp>

namespace sonde::app {
namespace {

TEST_CASE("history keeps the latest results, newest first", "[unit][history]") {
    ProbeHistory history(2);
    history.add("m", "a", true, "1");
    history.add("m", "b", true, "2");
    history.add("m", "c", true, "3");
    const auto entries = history.list();
    REQUIRE(entries.size() == 2);
    CHECK(entries[0]->target == "c");
    CHECK(entries[1]->target == "b");
    CHECK(history.by_id(0) == nullptr);
    REQUIRE(history.by_id(2) != nullptr);
    CHECK(history.by_id(2)->debug_output == "3");
}

TEST_CASE("failures pushed out of the window are retained", "[unit][history]") {
    ProbeHistory history(2);
    history.add("m", "failing", false, "f");
    history.add("m", "a", true, "");
    history.add("m", "b", true, "");
    history.add("m", "c", true, "");
    const auto entries = history.list();
    REQUIRE(entries.size() == 3);
    CHECK(entries.back()->target == "failing");
    CHECK(history.by_target("failing", std::nullopt) != nullptr);
}

TEST_CASE("lookup by target honours the module filter", "[unit][history]") {
    ProbeHistory history(10);
    history.add("tcp", "t", true, "tcp-log");
    history.add("http", "t", false, "http-log");
    CHECK(history.by_target("t", std::nullopt)->debug_output == "http-log");
    CHECK(history.by_target("t", std::string("tcp"))->debug_output == "tcp-log");
    CHECK(history.by_target("t", std::string("dns")) == nullptr);
    CHECK(history.by_target("u", std::nullopt) == nullptr);
}

}  // namespace
}  // namespace sonde::app

#include "prober/core/probe_log.hpp"

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace sonde {
namespace {

// Everything written to a FILE*, read back.
std::string contents(std::FILE* file) {
    std::string out;
    std::rewind(file);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
        out.append(buffer, n);
    }
    return out;
}

// Logs a mix of lines that exercises quoting, escapes, empty values, no fields and more fields
// than the formatter keeps on its stack.
void log_mix(ProbeLog& log) {
    log.debug("Beginning probe", {{"probe", "http"}, {"timeout_seconds", "119.5"}});
    log.info("no fields");
    log.error("Error for HTTP request",
              {{"err", "Get \"http://x\": dial tcp: connection refused"}, {"empty", ""}});
    std::string temporary = "value with = and \\ and \t tab\nnewline \x01";
    log.info("escapes", {{"v", temporary}});
    temporary.assign(temporary.size(), 'X');  // the log must have copied it
    log.info("many fields", {{"a", "1"},
                             {"b", "2"},
                             {"c", "3"},
                             {"d", "4"},
                             {"e", "5"},
                             {"f", "6"},
                             {"g", "7"},
                             {"h", "8"},
                             {"i", "9"},
                             {"j", "10 11"}});
    log.log(LogLevel::Warn, "", {{"", ""}});
}

TEST_CASE("lazily formatted probe log equals the eagerly formatted one", "[unit][probe_log]") {
    // The stderr mirror formats each line at log time, as every line was before; the kept lines
    // are formatted only when read. Both must be byte for byte the same.
    std::FILE* mirror = std::tmpfile();
    REQUIRE(mirror != nullptr);
    ProbeLog log("http_2xx", "https://example.test/a b", LogLevel::Debug, mirror, LogLevel::Debug);
    log_mix(log);
    std::fflush(mirror);
    const std::string eager = contents(mirror);
    (void)std::fclose(mirror);

    REQUIRE(log.lines().size() == 6);
    CHECK(log.text() == eager);
    std::ostringstream streamed;
    streamed << log.lines();
    CHECK(streamed.str() == eager);

    // The formatted text, apart from the timestamp, is the exporter's logfmt.
    CHECK(eager.find(" level=ERROR msg=\"Error for HTTP request\" module=http_2xx "
                     "target=\"https://example.test/a b\" "
                     "err=\"Get \\\"http://x\\\": dial tcp: connection refused\" empty=\"\"\n") !=
          std::string::npos);
    CHECK(eager.find("msg=escapes module=http_2xx target=\"https://example.test/a b\" "
                     "v=\"value with = and \\\\ and \\t tab\\nnewline \\u0001\"\n") !=
          std::string::npos);
    CHECK(eager.find(" msg=\"no fields\" module=http_2xx target=\"https://example.test/a b\"\n") !=
          std::string::npos);
    CHECK(eager.find("h=8 i=9 j=\"10 11\"\n") != std::string::npos);
    CHECK(eager.find(" level=WARN msg=\"\" module=http_2xx target=\"https://example.test/a b\" "
                     "=\"\"\n") != std::string::npos);
}

TEST_CASE("probe log keeps lines at or above its buffer level", "[unit][probe_log]") {
    ProbeLog log("m", "t", LogLevel::Info);
    log.debug("dropped");
    log.info("kept");
    REQUIRE(log.lines().size() == 1);
    CHECK(log.text().find("msg=kept module=m target=t\n") != std::string::npos);
    CHECK(log.text().find("dropped") == std::string::npos);
}

TEST_CASE("taken probe log lines are a value the log no longer touches", "[unit][probe_log]") {
    ProbeLog log("m", "t");
    log.info("first", {{"k", "v"}});
    const std::string before = log.text();
    ProbeLogLines taken = log.take_lines();
    CHECK(taken.text() == before);
    CHECK(log.lines().empty());
    log.info("second");
    CHECK(taken.size() == 1);
    CHECK(taken.text() == before);
    CHECK(log.text().find("msg=second module=m target=t\n") != std::string::npos);
    const ProbeLogLines copy = taken;
    CHECK(copy.text() == before);
}

TEST_CASE("with --log.format=json the mirrored lines are JSON and the kept ones logfmt",
          "[unit][probe_log]") {
    std::FILE* mirror = std::tmpfile();
    REQUIRE(mirror != nullptr);
    ProbeLog log("http_2xx", "https://example.test/a b", LogLevel::Debug, mirror, LogLevel::Info,
                 true);
    log_mix(log);
    std::fflush(mirror);
    const std::string mirrored = contents(mirror);
    (void)std::fclose(mirror);

    // One JSON object per line, for the lines at or above the mirror's level only.
    std::istringstream lines(mirrored);
    std::string line;
    std::vector<nlohmann::json> objects;
    while (std::getline(lines, line)) {
        INFO(line);
        const auto object = nlohmann::json::parse(line, nullptr, false);
        REQUIRE(object.is_object());
        objects.push_back(object);
    }
    REQUIRE(objects.size() == 5);  // log_mix's six lines without the debug one
    const auto& error = objects[1];
    CHECK(error.value("level", "") == "ERROR");
    CHECK(error.value("msg", "") == "Error for HTTP request");
    CHECK(error.value("module", "") == "http_2xx");
    CHECK(error.value("target", "") == "https://example.test/a b");
    CHECK(error.value("err", "") == "Get \"http://x\": dial tcp: connection refused");
    CHECK(objects[2].value("v", "") == "value with = and \\ and \t tab\nnewline \x01");

    // debug=true and /logs show the exporter's logfmt whatever the process log's format.
    CHECK(log.text().find(" level=ERROR msg=\"Error for HTTP request\" module=http_2xx ") !=
          std::string::npos);
    CHECK(log.text().find('{') == std::string::npos);
}

}  // namespace
}  // namespace sonde

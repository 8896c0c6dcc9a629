#include "modules/http/response_evaluation.hpp"

#include <catch2/catch.hpp>

#include "prober/net/gzip.hpp"
#include "tests/unit/modules/http/test_helpers.hpp"

namespace sonde::modules::http {
namespace {

using test::header_match;
using test::regex;

FinalResponse response(int status, std::string_view body = {}) {
    FinalResponse r;
    r.status_code = status;
    r.proto = "HTTP/1.1";
    r.raw_body = body;
    return r;
}

TEST_CASE("a plain 200 succeeds with its length and version", "[unit][http]") {
    const Verdict v = evaluate_response({}, response(200, "hello"));
    CHECK(v.success);
    CHECK(v.message.empty());
    CHECK(v.uncompressed_body_length == 5);
    CHECK(v.http_version == 1.1);
    CHECK_FALSE(v.failed_due_to_regex);
    CHECK_FALSE(v.last_modified.has_value());
    REQUIRE_FALSE(v.log.empty());
    CHECK(v.log[0].msg == "Received HTTP response");
}

TEST_CASE("status failure is reported with the exporter's text", "[unit][http]") {
    const Verdict v = evaluate_response({}, response(404));
    CHECK_FALSE(v.success);
    CHECK(v.message == "Invalid HTTP response status code, wanted 2xx");
    config::HttpProbe cfg;
    cfg.valid_status_codes = {200, 404};
    CHECK(evaluate_response(cfg, response(404)).success);
    const Verdict listed = evaluate_response(cfg, response(201));
    CHECK(listed.message == "Invalid HTTP response status code");
    CHECK(listed.log[1].msg == "Valid status codes");
    CHECK(listed.log[1].fields == LogFields{{"codes", "[200 404]"}});
}

TEST_CASE("header regexes only run while successful and set the regex flag", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.fail_if_header_matches = {header_match("Server", "nginx")};
    auto r = response(200);
    r.headers.add("server", "nginx/1.2");
    const Verdict v = evaluate_response(cfg, r);
    CHECK_FALSE(v.success);
    CHECK(v.message == "Header matched regular expression");
    CHECK(v.failed_due_to_regex);
    r.status_code = 500;
    const Verdict not_run = evaluate_response(cfg, r);
    CHECK(not_run.message == "Invalid HTTP response status code, wanted 2xx");
    CHECK_FALSE(not_run.failed_due_to_regex);
}

TEST_CASE("body regexes after a passing header check clear the flag", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.fail_if_header_not_matches = {header_match("X-Missing", ".", true)};
    cfg.fail_if_body_not_matches_regexp = {regex("ok")};
    CHECK(evaluate_response(cfg, response(200, "all ok")).success);
    const Verdict v = evaluate_response(cfg, response(200, "nope"));
    CHECK(v.message == "Body did not match regular expression");
    CHECK(v.failed_due_to_regex);
}

TEST_CASE("compression (TestHandlingOfCompressionSetting)", "[unit][http]") {
    const std::string text = "This is a test.";
    const std::string gz = *net::gzip_compress(text);
    SECTION("a compressed body without `compression` is not decoded") {
        auto r = response(200, gz);
        r.headers.add("Content-Encoding", "gzip");
        const Verdict v = evaluate_response({}, r);
        CHECK(v.success);
        CHECK(v.uncompressed_body_length == static_cast<std::int64_t>(gz.size()));
    }
    SECTION("`compression: gzip` decodes whatever Content-Encoding says") {
        config::HttpProbe cfg;
        cfg.compression = "gzip";
        cfg.fail_if_body_not_matches_regexp = {regex("^This is a test\\.$")};
        const Verdict v = evaluate_response(cfg, response(200, gz));
        CHECK(v.success);
        CHECK(v.uncompressed_body_length == static_cast<std::int64_t>(text.size()));
    }
    SECTION("`compression: gzip` on a plain body fails to make the decompressor") {
        config::HttpProbe cfg;
        cfg.compression = "gzip";
        const Verdict v = evaluate_response(cfg, response(200, text));
        CHECK_FALSE(v.success);
        CHECK(v.message == "Failed to get decompressor for HTTP response body");
        CHECK(v.uncompressed_body_length == static_cast<std::int64_t>(text.size()));
    }
    SECTION("an unknown algorithm fails at run time") {
        config::HttpProbe cfg;
        cfg.compression = "zstd";
        const Verdict v = evaluate_response(cfg, response(200, text));
        CHECK(v.message == "Failed to get decompressor for HTTP response body");
        CHECK(v.log[1].msg == "unsupported compression algorithm");
    }
    SECTION("`compression: identity` reads the body as is") {
        config::HttpProbe cfg;
        cfg.compression = "identity";
        CHECK(evaluate_response(cfg, response(200, gz)).uncompressed_body_length ==
              static_cast<std::int64_t>(gz.size()));
    }
}

TEST_CASE("body_size_limit (TestMaxResponseLength)", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.body_size_limit = 128;
    const std::string at(128, 'a');
    const std::string over(129, 'a');
    SECTION("at the limit succeeds") {
        const Verdict v = evaluate_response(cfg, response(200, at));
        CHECK(v.success);
        CHECK(v.uncompressed_body_length == 128);
    }
    SECTION("over the limit fails while draining") {
        const Verdict v = evaluate_response(cfg, response(200, over));
        CHECK_FALSE(v.success);
        CHECK(v.message == "Failed to read HTTP response body");
        CHECK(v.uncompressed_body_length == 128);
    }
    SECTION("over the limit with body regexes: the read error is a regex-step failure too") {
        cfg.fail_if_body_matches_regexp = {regex("b")};
        const Verdict v = evaluate_response(cfg, response(200, over));
        CHECK_FALSE(v.success);
        CHECK(v.failed_due_to_regex);
        CHECK(v.message == "Failed to read HTTP response body");
    }
    SECTION("gzip over the limit after decoding reports exactly the limit") {
        cfg.compression = "gzip";
        const std::string gz = *net::gzip_compress(std::string(4096, 'z'));
        const Verdict v = evaluate_response(cfg, response(200, gz));
        CHECK_FALSE(v.success);
        CHECK(v.uncompressed_body_length == 128);
    }
}

TEST_CASE("a redirect that was not followed leaves the body unread", "[unit][http]") {
    auto r = response(302, "moved");
    r.redirect_not_followed = true;
    const Verdict v = evaluate_response({}, r);
    CHECK_FALSE(v.success);
    CHECK(v.uncompressed_body_length == 0);
    config::HttpProbe cfg;
    cfg.valid_status_codes = {302};
    CHECK(evaluate_response(cfg, r).success);
}

TEST_CASE("CEL fails only when reached, and flags it", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.fail_if_body_json_matches_cel = "body.foo == 1";
    const Verdict v = evaluate_response(cfg, response(200, "{}"));
    CHECK_FALSE(v.success);
    CHECK(v.message == "CEL is not supported by sonde yet");
    CHECK(v.failed_due_to_cel);
    const Verdict after_status = evaluate_response(cfg, response(500, "{}"));
    CHECK_FALSE(after_status.failed_due_to_cel);
}

TEST_CASE("Last-Modified is parsed whatever the outcome", "[unit][http]") {
    auto r = response(500);
    r.headers.add("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(evaluate_response({}, r).last_modified == 784111777);
    auto bad = response(200);
    bad.headers.add("Last-Modified", "not a date");
    CHECK_FALSE(evaluate_response({}, bad).last_modified.has_value());
}

TEST_CASE("HTTP version: number and valid_http_versions override", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.valid_http_versions = {"HTTP/2.0"};
    const Verdict v = evaluate_response(cfg, response(200));
    CHECK_FALSE(v.success);
    CHECK(v.message == "Invalid HTTP version number");
    CHECK(v.http_version == 1.1);
    auto weird = response(200);
    weird.proto = "SPDY";
    const Verdict w = evaluate_response({}, weird);
    CHECK(w.success);
    CHECK(w.http_version == 0);
}

TEST_CASE("TLS checks come last (TestFailIfNotSSL)", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.fail_if_not_ssl = true;
    CHECK(evaluate_response(cfg, response(200)).message == "Final request was not over SSL");
    // Not over TLS but already failing: the earlier reason stays.
    CHECK(evaluate_response(cfg, response(404)).message ==
          "Invalid HTTP response status code, wanted 2xx");
    auto tls = response(200);
    tls.over_tls = true;
    CHECK(evaluate_response(cfg, tls).success);
    cfg.fail_if_not_ssl = false;
    cfg.fail_if_ssl = true;
    tls.status_code = 404;
    CHECK(evaluate_response(cfg, tls).message == "Final request was over SSL");
}

TEST_CASE("write_log copies lines to the probe log", "[unit][http]") {
    ProbeLog log("m", "t");
    write_log(log, {LogLevel::Info, "Received HTTP response", {{"status_code", "200"}}});
    write_log(log, {LogLevel::Error, "x", {{"a", "1"}, {"b", "2"}, {"c", "3"}}});
    CHECK(log.text().find("Received HTTP response") != std::string::npos);
    CHECK(log.text().find("status_code=200") != std::string::npos);
    CHECK(log.text().find("c=3") != std::string::npos);
}

}  // namespace
}  // namespace sonde::modules::http

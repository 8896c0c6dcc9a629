// The exporter's own config test files (tests/testdata/conformance, README there): the good file
// loads with the values upstream expects, every invalid one is rejected for upstream's reason.

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <re2/re2.h>

#include "config/loader.hpp"

namespace {

using sonde::config::load_config_file;

const std::string kDir = std::string(SONDE_TESTDATA_DIR) + "/conformance/";

// Invalid file -> a keyword of the README's expected error detail.
const std::map<std::string, std::string> kInvalid = {
    {"blackbox-bad.yml", "unknown field \"invalid_extra_field\""},
    {"blackbox-bad2.yml", "at most one of bearer_token & bearer_token_file must be configured"},
    {"invalid-prober.yml", "prober 'invalid' is not valid"},
    {"invalid-dns-module.yml", "query name must be set for DNS module"},
    {"invalid-dns-class.yml", "query class 'X' is not valid"},
    {"invalid-dns-type.yml", "query type 'X' is not valid"},
    {"invalid-http-header-match.yml", "regexp must be set for HTTP header matchers"},
    {"invalid-http-body-match-regexp.yml",
     "\"Could not compile regular expression\" regexp=\":[\""},
    {"invalid-http-body-not-match-regexp.yml",
     "\"Could not compile regular expression\" regexp=\":[\""},
    {"invalid-http-header-match-regexp.yml",
     "\"Could not compile regular expression\" regexp=\":[\""},
    {"invalid-http-compression-mismatch.yml",
     "invalid configuration \"Accept-Encoding: deflate\", \"compression: gzip\""},
    {"invalid-http-compression-mismatch-special-case.yml",
     "invalid configuration \"accEpt-enCoding: deflate\", \"compression: gzip\""},
    {"invalid-http-request-compression-reject-all-encodings.yml",
     "invalid configuration \"Accept-Encoding: *;q=0.0\", \"compression: gzip\""},
    {"invalid-http-http3-http2.yml",
     "HTTP/3 and HTTP/2.0/1.1 cannot be used together - only HTTP/3.0 is allowed when "
     "enable_http3 is true"},
    {"invalid-http-http3-http2-version.yml",
     "HTTP/3 and HTTP/2.0/1.1 cannot be used together - only HTTP/3.0 is allowed when "
     "enable_http3 is true"},
    {"invalid-http-http3-http2-enabled.yml",
     "when enable_http3 is true, enable_http2 must be set to false"},
    {"invalid-no-versions-http3-enabled.yml",
     "when enable_http3 is true, enable_http2 must be set to false"},
    {"invalid-icmp-ttl.yml", "\"ttl\" cannot be negative"},
    {"invalid-icmp-ttl-overflow.yml", "\"ttl\" cannot exceed 255"},
    {"invalid-tcp-query-response-regexp.yml",
     "\"Could not compile regular expression\" regexp=\":[\""},
    {"invalid-unix-query-response-regexp.yml",
     "\"Could not compile regular expression\" regexp=\":[\""},
    {"invalid-websocket-query-response-regexp.yml",
     "\"Could not compile regular expression\" regexp=\":[\""},
    {"invalid-http-body-config.yml", "setting body and body_file both are not allowed"},
};

// Invalid files whose rule sonde does not implement yet. They must still load, so that
// implementing a rule forces its file out of this list: it can only shrink.
const std::set<std::string> kPending = {};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

TEST_CASE("every conformance file is covered by the table", "[unit][config]") {
    for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".yml" || name == "blackbox-good.yml") {
            continue;
        }
        INFO(name);
        CHECK(kInvalid.count(name) == 1);
    }
}

TEST_CASE("blackbox-good.yml loads with upstream's values", "[unit][config]") {
    auto loaded = load_config_file(kDir + "blackbox-good.yml");
    REQUIRE(loaded.has_value());
    const auto& modules = loaded->config->modules;
    REQUIRE(modules.size() == 11);

    const auto& post = modules.at("http_post_2xx");
    CHECK(post.prober == sonde::config::ProberKind::Http);
    CHECK(post.timeout == std::chrono::seconds(5));
    CHECK(post.http.method == "POST");
    CHECK(post.http.body_size_limit == 1048576);
    REQUIRE(post.http.basic_auth.has_value());
    CHECK(post.http.basic_auth->password.value == "mysecret");

    const auto& pop3s = modules.at("pop3s_banner").tcp;
    REQUIRE(pop3s.query_response.size() == 1);
    REQUIRE(pop3s.query_response[0].expect.has_value());
    CHECK(pop3s.query_response[0].expect->pattern == "^+OK");
    // RE2 (like Go) reads `^+` as a repeated anchor, so the pattern matches "OK" at the start.
    CHECK(re2::RE2::PartialMatch("OK ready", *pop3s.query_response[0].expect->re));
    CHECK(pop3s.tls);

    const auto& smtp = modules.at("smtp_starttls").tcp.query_response;
    REQUIRE(smtp.size() == 9);
    CHECK(smtp[1].send == std::optional<std::string>("EHLO prober\r"));
    CHECK(smtp[5].starttls);

    const auto& irc = modules.at("irc_banner").tcp.query_response;
    REQUIRE(irc.size() == 4);
    CHECK(irc[2].send == std::optional<std::string>("PONG ${1}"));

    CHECK(modules.at("icmp_test").icmp.preferred_ip_protocol == "ip4");
    CHECK(modules.at("icmp_test").icmp.ttl == 64);
    // The default applies even where the block is absent.
    CHECK(modules.at("http_2xx").icmp.ttl == 64);
    CHECK(modules.at("tcp_connect").icmp.ttl == 64);

    const auto& dns = modules.at("dns_test").dns;
    CHECK(dns.query_name == "example.com");
    CHECK_FALSE(dns.ip_protocol_fallback);
    CHECK(dns.query_type == "ANY");
    CHECK(dns.validate_answer_rrs.fail_if_matches_regexp == std::vector<std::string>{"test"});

    const auto& origin = modules.at("http_header_match_origin").http;
    REQUIRE(origin.fail_if_header_not_matches.size() == 1);
    CHECK(origin.fail_if_header_not_matches[0].regexp.pattern == "(\\*|example\\.com)");
    CHECK(origin.headers ==
          std::vector<std::pair<std::string, std::string>>{{"Origin", "example.com"}});

    const auto& grpc = modules.at("grpc_health").grpc;
    CHECK(grpc.service == "example");
    CHECK(grpc.metadata.at("key") == std::vector<std::string>{"value1", "value2"});
    CHECK(grpc.metadata.at("authorization") == std::vector<std::string>{"Bearer token"});

    CHECK(loaded->config->sha256.size() == 64);
    CHECK(loaded->warnings.empty());

    const std::string rendered = sonde::config::render_config_yaml(*loaded->config);
    CHECK(rendered.find("mysecret") == std::string::npos);
    CHECK(rendered.find("<secret>") != std::string::npos);
    CHECK(rendered.find("1MiB") != std::string::npos);
}

TEST_CASE("each invalid conformance file is rejected for upstream's reason", "[unit][config]") {
    for (const auto& [name, keyword] : kInvalid) {
        INFO(name);
        const std::string path = kDir + name;
        auto loaded = load_config_file(path);
        if (kPending.count(name) != 0) {
            CHECK(loaded.has_value());
            continue;
        }
        REQUIRE_FALSE(loaded.has_value());
        INFO(loaded.error());
        CHECK(loaded.error().find(keyword) != std::string::npos);
        // "<path>:<line>:<column>: " with 1-based numbers.
        REQUIRE(loaded.error().rfind(path + ":", 0) == 0);
        CHECK_THAT(loaded.error().substr(path.size()),
                   Catch::Matchers::Matches(":[1-9][0-9]*:[1-9][0-9]*: .*"));
    }
}

TEST_CASE("blackbox-bad.yml names line 50", "[unit][config]") {
    const std::string path = kDir + "blackbox-bad.yml";
    auto loaded = load_config_file(path);
    REQUIRE_FALSE(loaded.has_value());
    CHECK(loaded.error().rfind(path + ":50:7: unknown field \"invalid_extra_field\"", 0) == 0);
}

TEST_CASE("the shipped blackbox.yml is the built-in config and loads", "[unit][config]") {
    const std::string path = kDir + "upstream_examples/blackbox.yml";
    auto loaded = load_config_file(path);
    REQUIRE(loaded.has_value());
    CHECK(sonde::config::builtin_config_text() == read_file(path));

    auto builtin =
        sonde::config::load_config_text(sonde::config::builtin_config_text(), "<built-in>");
    REQUIRE(builtin.has_value());
    const auto& modules = builtin->config->modules;
    CHECK(modules.count("http_2xx") == 1);
    CHECK(modules.at("icmp_ttl5").icmp.ttl == 5);
    const auto& postgres = modules.at("postgresql").tcp.query_response;
    REQUIRE(postgres.size() == 3);
    CHECK(postgres[0].send ==
          std::optional<std::string>(std::string("\x00\x00\x00\x08\x04\xD2\x16\x2F", 8)));
    CHECK(postgres[1].expect_bytes == std::optional<std::string>("S"));
    CHECK(builtin->config->sha256 == loaded->config->sha256);
    CHECK(builtin->config->source == "<built-in>");
}

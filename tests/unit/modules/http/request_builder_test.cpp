#include "modules/http/request_builder.hpp"

#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "modules/common/base64.hpp"
#include "modules/common/header_names.hpp"
#include "tests/support/http_url_fixtures.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde::modules::http {
namespace {

void write_file(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary);
    out << data;
}

OutgoingRequest build(const config::HttpProbe& cfg, const std::string& target = "http://h/") {
    HopInputs hop;
    hop.method = cfg.method;
    hop.url = test::target_url_of(target);
    hop.host_header = hop.url.authority();
    hop.headers = initial_headers(cfg.headers, default_user_agent("0.1.0"));
    auto body = load_request_body(cfg);
    REQUIRE(body.has_value());
    hop.body = *body;
    auto request = finish_request(cfg, std::move(hop));
    REQUIRE(request.has_value());
    return *request;
}

TEST_CASE("canonical_header_key as Go's textproto", "[unit][http]") {
    using Case = std::pair<std::string, std::string>;
    const auto c = GENERATE(values<Case>({
        {"content-type", "Content-Type"},
        {"X-FOO-bar", "X-Foo-Bar"},
        {"host", "Host"},
        {"www-authenticate", "Www-Authenticate"},
        {"a b", "a b"},
        {"x_y", "X_y"},
        {"", ""},
    }));
    CHECK(canonical_header_key(c.first) == c.second);
}

TEST_CASE("default User-Agent keeps the exporter's product token", "[unit][http]") {
    CHECK(default_user_agent("0.1.0") == "Blackbox-Exporter/0.28.0 (sonde 0.1.0)");
    const config::HttpProbe cfg;
    CHECK(*build(cfg).headers.find("User-Agent") == "Blackbox-Exporter/0.28.0 (sonde 0.1.0)");
}

TEST_CASE("headers: Header.Set semantics, Host skipped, configured User-Agent", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.headers = {{"x-token", "one"},
                   {"X-Token", "two"},
                   {"host", "vhost"},
                   {"user-agent", "mine"},
                   {"Accept", "a/b"}};
    const auto request = build(cfg);
    CHECK(*request.headers.find("X-Token") == "two");
    CHECK(request.headers.fields()[0].name == "X-Token");
    CHECK_FALSE(request.headers.contains("Host"));
    CHECK(*request.headers.find("User-Agent") == "mine");
    CHECK(*request.headers.find("Accept") == "a/b");
    CHECK_FALSE(request.headers.contains("Accept-Encoding"));
    CHECK(*request.headers.find("Connection") == "close");
}

TEST_CASE("an empty configured User-Agent sends none", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.headers = {{"User-Agent", ""}};
    CHECK_FALSE(build(cfg).headers.contains("User-Agent"));
}

TEST_CASE("http_headers add values, secrets and trimmed files", "[unit][http]") {
    test::TempDir dir;
    const std::string file = dir.path() + "/h";
    write_file(file, "  from-file\n");
    config::HttpProbe cfg;
    cfg.headers = {{"X-Multi", "set"}};
    cfg.http_headers["x-multi"] = {{"v1", "v2"}, {config::Secret{"s1"}}, {file}};
    const auto request = build(cfg);
    std::vector<std::string> values;
    for (const auto& field : request.headers.fields()) {
        if (field.name == "X-Multi") {
            values.push_back(field.value);
        }
    }
    CHECK(values == std::vector<std::string>{"set", "v1", "v2", "s1", "from-file"});

    SECTION("the file is read per request") {
        write_file(file, "changed");
        CHECK(build(cfg).headers.joined("X-Multi") == "set, v1, v2, s1, changed");
    }
    SECTION("a missing file is an error value") {
        cfg.http_headers["x-multi"].files = {dir.path() + "/missing"};
        HopInputs hop;
        hop.method = "GET";
        hop.url = test::target_url_of("http://h/");
        auto request2 = finish_request(cfg, std::move(hop));
        REQUIRE_FALSE(request2.has_value());
        CHECK(request2.error() == "unable to read headers file " + dir.path() + "/missing: open " +
                                      dir.path() + "/missing: no such file or directory");
    }
}

TEST_CASE("basic_auth from values and files", "[unit][http]") {
    test::TempDir dir;
    config::HttpProbe cfg;
    cfg.basic_auth = config::BasicAuth{"user", "", config::Secret{"pass"}, ""};
    CHECK(*build(cfg).headers.find("Authorization") == "Basic dXNlcjpwYXNz");

    write_file(dir.path() + "/u", "fileuser\n");
    write_file(dir.path() + "/p", " filepass \n");
    cfg.basic_auth = config::BasicAuth{"", dir.path() + "/u", {}, dir.path() + "/p"};
    CHECK(*build(cfg).headers.find("Authorization") ==
          "Basic " + base64_encode("fileuser:filepass"));

    cfg.basic_auth = config::BasicAuth{"user", "", {}, dir.path() + "/none"};
    HopInputs hop;
    hop.method = "GET";
    hop.url = test::target_url_of("http://h/");
    auto failed = finish_request(cfg, std::move(hop));
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().rfind("unable to read basic auth password: unable to read file ", 0) == 0);
}

TEST_CASE("authorization type and credentials", "[unit][http]") {
    test::TempDir dir;
    config::HttpProbe cfg;
    cfg.authorization = config::Authorization{"Bearer", config::Secret{"mysecret"}, ""};
    CHECK(*build(cfg).headers.find("Authorization") == "Bearer mysecret");

    write_file(dir.path() + "/c", "filetoken\n");
    cfg.authorization = config::Authorization{"Token", {}, dir.path() + "/c"};
    CHECK(*build(cfg).headers.find("Authorization") == "Token filetoken");

    cfg.authorization = config::Authorization{"Bearer", {}, ""};
    CHECK_FALSE(build(cfg).headers.contains("Authorization"));
}

TEST_CASE("Authorization precedence: headers, then URL userinfo, then config", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.authorization = config::Authorization{"Bearer", config::Secret{"cfg"}, ""};
    CHECK(*build(cfg, "http://u%40x:p%3Aw@h/").headers.find("Authorization") ==
          "Basic " + base64_encode("u@x:p:w"));
    cfg.headers = {{"authorization", "Custom abc"}};
    CHECK(*build(cfg, "http://u:p@h/").headers.find("Authorization") == "Custom abc");
}

TEST_CASE("body, body_file and Content-Length", "[unit][http]") {
    test::TempDir dir;
    config::HttpProbe cfg;
    SECTION("GET without body sends no Content-Length") {
        CHECK_FALSE(build(cfg).headers.contains("Content-Length"));
        CHECK(build(cfg).serialise() ==
              "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Blackbox-Exporter/0.28.0 (sonde "
              "0.1.0)\r\nConnection: close\r\n\r\n");
    }
    SECTION("POST without body sends Content-Length: 0") {
        cfg.method = "POST";
        CHECK(*build(cfg).headers.find("Content-Length") == "0");
    }
    SECTION("body") {
        cfg.method = "POST";
        cfg.body = "{\"a\":1}";
        const auto request = build(cfg, "http://h:8080/p?q");
        CHECK(*request.headers.find("Content-Length") == "7");
        CHECK(request.serialise().rfind("POST /p?q HTTP/1.1\r\nHost: h:8080\r\n", 0) == 0);
        CHECK(request.serialise().substr(request.serialise().size() - 7) == "{\"a\":1}");
    }
    SECTION("body_file is read per probe, untrimmed") {
        write_file(dir.path() + "/b", " raw body\n");
        cfg.body_file = dir.path() + "/b";
        CHECK(build(cfg).body == " raw body\n");
        write_file(dir.path() + "/b", "new");
        CHECK(build(cfg).body == "new");
    }
    SECTION("a missing body_file is an error value") {
        cfg.body_file = dir.path() + "/missing";
        auto body = load_request_body(cfg);
        REQUIRE_FALSE(body.has_value());
        CHECK(body.error() == "open " + dir.path() + "/missing: no such file or directory");
    }
}

TEST_CASE("cookies and referer are added per hop", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.headers = {{"Cookie", "a=1"}};
    HopInputs hop;
    hop.method = "GET";
    hop.url = test::target_url_of("http://h/next");
    hop.host_header = "h";
    hop.headers = initial_headers(cfg.headers, "ua");
    hop.cookie_header = "b=2";
    hop.referer = "http://h/first";
    auto request = finish_request(cfg, std::move(hop));
    REQUIRE(request.has_value());
    CHECK(*request->headers.find("Cookie") == "a=1; b=2");
    CHECK(*request->headers.find("Referer") == "http://h/first");
}

TEST_CASE("base64_encode", "[unit][http]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("\xff\xfe") == "//4=");
}

}  // namespace
}  // namespace sonde::modules::http

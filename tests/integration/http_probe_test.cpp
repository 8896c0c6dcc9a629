// The http prober against real servers on loopback, started by each test on port 0: sonde's own
// HttpServer for plain HTTP, and a scripted TLS server with a certificate made by the test.
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "prober/net/gzip.hpp"
#include "prober/net/http_server.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/request_headers.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::metric_value;

constexpr const char* kHttpModules = R"yaml(modules:
  http_2xx:
    prober: http
    http:
      preferred_ip_protocol: ip4
  http_200_404:
    prober: http
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [200, 404]
  no_follow:
    prober: http
    http:
      preferred_ip_protocol: ip4
      follow_redirects: false
  post:
    prober: http
    http:
      preferred_ip_protocol: ip4
      method: POST
      headers:
        Content-Type: application/json
      body: '{"hello": "world"}'
  header_regex:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_header_matches:
      - header: X-Status
        regexp: "^bad"
  body_regex:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_body_matches_regexp: ["error"]
      fail_if_body_not_matches_regexp: ["ok"]
  gzip:
    prober: http
    http:
      preferred_ip_protocol: ip4
      compression: gzip
      fail_if_body_not_matches_regexp: ["^a+$"]
  limit_128:
    prober: http
    http:
      preferred_ip_protocol: ip4
      body_size_limit: 128B
  not_ssl:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
  basic_auth:
    prober: http
    http:
      preferred_ip_protocol: ip4
      basic_auth:
        username: prober
        password: s3cret
)yaml";

// What the handler saw of the last request.
struct Seen {
    int requests = 0;
    std::string method;
    std::string target;
    std::string host;
    std::string body;
    std::string authorization;
    std::string cookie;
    std::string user_agent;
    std::string accept_encoding;
};

// A plain HTTP server on 127.0.0.1:0 whose answers depend on the path:
//   /status/<code>    that status, body "status <code>"
//   /redirect/<n>     302 to /redirect/<n-1> (setting a cookie on the first), 200 at 0
//   /header/<value>   200 with X-Status: <value>
//   /body/<text>      200 with that body
//   /size/<n>         200 with n bytes of 'a'
//   /gzip             200, 200 'a's gzipped with Content-Encoding: gzip
struct TestServer {
    explicit TestServer(Loop& loop)
        : server(std::make_unique<net::HttpServer>(
              loop, [this](const net::HttpRequest& request, net::HttpResponder responder) {
                  responder.respond(answer(request));
              })) {
        REQUIRE(server->listen("127.0.0.1:0"));
    }

    std::string target(const std::string& path) const {
        return "127.0.0.1:" + std::to_string(server->bound_port()) + path;
    }

    net::HttpResponse answer(const net::HttpRequest& request) {
        ++seen.requests;
        seen.method = request.method;
        seen.target = request.target;
        seen.host = test::header_or_empty(request, "Host");
        seen.body = request.body;
        seen.authorization = test::header_or_empty(request, "Authorization");
        seen.cookie = test::header_or_empty(request, "Cookie");
        seen.user_agent = test::header_or_empty(request, "User-Agent");
        seen.accept_encoding = test::header_or_empty(request, "Accept-Encoding");
        const std::string& path = request.path;
        const auto tail = [&](const std::string& prefix) { return path.substr(prefix.size()); };
        if (path.rfind("/status/", 0) == 0) {
            const int code = std::stoi(tail("/status/"));
            return net::HttpResponse::text(code, "status " + std::to_string(code));
        }
        if (path.rfind("/redirect/", 0) == 0) {
            const int n = std::stoi(tail("/redirect/"));
            if (n == 0) {
                return net::HttpResponse::text(200, "landed");
            }
            net::HttpResponse response = net::HttpResponse::text(302, "");
            response.headers.set("Location", "/redirect/" + std::to_string(n - 1));
            if (seen.requests == 1) {
                response.headers.set("Set-Cookie", "session=abc; Path=/");
            }
            return response;
        }
        if (path.rfind("/header/", 0) == 0) {
            net::HttpResponse response = net::HttpResponse::text(200, "ok");
            response.headers.set("X-Status", tail("/header/"));
            return response;
        }
        if (path.rfind("/body/", 0) == 0) {
            return net::HttpResponse::text(200, tail("/body/"));
        }
        if (path.rfind("/size/", 0) == 0) {
            return net::HttpResponse::text(
                200, std::string(static_cast<std::size_t>(std::stoi(tail("/size/"))), 'a'));
        }
        if (path == "/gzip") {
            auto compressed = net::gzip_compress(std::string(200, 'a'));
            REQUIRE(compressed);
            net::HttpResponse response = net::HttpResponse::text(200, *compressed);
            response.headers.set("Content-Encoding", "gzip");
            return response;
        }
        return net::HttpResponse::text(404, "not found");
    }

    Seen seen;
    std::unique_ptr<net::HttpServer> server;
};

TEST_CASE("http status codes against 2xx and valid_status_codes", "[integration][http]") {
    struct Row {
        const char* module;
        int code;
        bool success;
    };
    const Row row =
        GENERATE(Row{"http_2xx", 200, true}, Row{"http_2xx", 201, true}, Row{"http_2xx", 299, true},
                 Row{"http_2xx", 300, false}, Row{"http_2xx", 404, false},
                 Row{"http_200_404", 404, true}, Row{"http_200_404", 201, false});
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        const auto report = h.run(row.module, server.target("/status/" + std::to_string(row.code)));
        INFO(row.module << " " << row.code << "\n" << report.log);
        CHECK(report.success == row.success);
        const auto& r = *report.registry;
        CHECK(metric_value(r, "probe_success") == (row.success ? 1 : 0));
        CHECK(metric_value(r, "probe_http_status_code") == row.code);
        CHECK(metric_value(r, "probe_http_version") == 1.1);
        CHECK(metric_value(r, "probe_http_ssl") == 0);
        CHECK(metric_value(r, "probe_http_redirects") == 0);
        CHECK(metric_value(r, "probe_failed_due_to_regex") == 0);
        CHECK(metric_value(r, "probe_ip_protocol") == 4);
        const std::string body = "status " + std::to_string(row.code);
        CHECK(metric_value(r, "probe_http_content_length") == static_cast<double>(body.size()));
        CHECK(metric_value(r, "probe_http_uncompressed_body_length") ==
              static_cast<double>(body.size()));
        for (const char* phase : {"resolve", "connect", "tls", "processing", "transfer"}) {
            CHECK(metric_value(r, "probe_http_duration_seconds", {{"phase", phase}}).has_value());
        }
        CHECK(metric_value(r, "probe_http_duration_seconds", {{"phase", "tls"}}) == 0);
        if (!row.success) {
            CHECK(report.failure == modules::FailureKind::Validation);
        }
        // The exporter's request: Host keeps host:port, its User-Agent product token first.
        CHECK(server.seen.method == "GET");
        CHECK(server.seen.host == server.target(""));
        CHECK(server.seen.user_agent.rfind("Blackbox-Exporter/0.28.0 (sonde ", 0) == 0);
        CHECK(server.seen.accept_encoding.empty());
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http redirects are followed and counted up to the limit", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        SECTION("ten redirects are followed, with the cookie of the first") {
            const auto report = h.run("http_2xx", server.target("/redirect/10"));
            INFO(report.log);
            CHECK(report.success);
            CHECK(metric_value(*report.registry, "probe_http_redirects") == 10);
            CHECK(metric_value(*report.registry, "probe_http_status_code") == 200);
            CHECK(server.seen.requests == 11);
            CHECK(server.seen.cookie == "session=abc");
            CHECK(server.seen.host == server.target(""));
            CHECK(report.log.text().find("Received redirect") != std::string::npos);
        }
        SECTION("the eleventh redirect is final and fails") {
            const auto report = h.run("http_2xx", server.target("/redirect/11"));
            INFO(report.log);
            CHECK_FALSE(report.success);
            CHECK(metric_value(*report.registry, "probe_http_redirects") == 11);
            CHECK(metric_value(*report.registry, "probe_http_status_code") == 302);
            CHECK(server.seen.requests == 11);
        }
        SECTION("follow_redirects: false stops at the first 3xx") {
            const auto report = h.run("no_follow", server.target("/redirect/3"));
            INFO(report.log);
            CHECK_FALSE(report.success);
            CHECK(metric_value(*report.registry, "probe_http_redirects") == 1);
            CHECK(metric_value(*report.registry, "probe_http_status_code") == 302);
            CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 0);
            CHECK(server.seen.requests == 1);
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http POST sends the configured body and headers", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        const auto report = h.run("post", server.target("/status/200"));
        INFO(report.log);
        CHECK(report.success);
        CHECK(server.seen.method == "POST");
        CHECK(server.seen.body == R"({"hello": "world"})");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http header and body regexes set probe_failed_due_to_regex", "[integration][http]") {
    struct Row {
        const char* module;
        const char* path;
        bool success;
    };
    const Row row = GENERATE(
        Row{"header_regex", "/header/good", true}, Row{"header_regex", "/header/bad-news", false},
        Row{"body_regex", "/body/all-ok", true}, Row{"body_regex", "/body/ok-but-error", false},
        Row{"body_regex", "/body/nothing", false});
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        const auto report = h.run(row.module, server.target(row.path));
        INFO(row.path << "\n" << report.log);
        CHECK(report.success == row.success);
        CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == (row.success ? 0 : 1));
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 200);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http gzip bodies are decoded only when compression is configured",
          "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        const auto compressed = net::gzip_compress(std::string(200, 'a'));
        REQUIRE(compressed);
        const auto size = static_cast<double>(compressed->size());

        auto report = h.run("http_2xx", server.target("/gzip"));
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_content_length") == size);
        CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == size);

        report = h.run("gzip", server.target("/gzip"));
        INFO(report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_content_length") == size);
        CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 200);
        // Sonde adds no Accept-Encoding of its own, as the exporter's client.
        CHECK(server.seen.accept_encoding.empty());
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http body_size_limit fails a larger body", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        auto report = h.run("limit_128", server.target("/size/128"));
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 128);

        report = h.run("limit_128", server.target("/size/129"));
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(metric_value(*report.registry, "probe_http_content_length") == 129);
        CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 128);
        CHECK(report.detail == "Failed to read HTTP response body");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http fail_if_not_ssl fails a plain HTTP response", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        const auto report = h.run("not_ssl", server.target("/status/200"));
        CHECK_FALSE(report.success);
        CHECK(report.detail == "Final request was not over SSL");
        CHECK(metric_value(*report.registry, "probe_http_ssl") == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http basic auth reaches the server", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        const auto report = h.run("basic_auth", server.target("/status/200"));
        CHECK(report.success);
        CHECK(server.seen.authorization == "Basic cHJvYmVyOnMzY3JldA==");  // prober:s3cret
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http hostname parameter sets the Host header", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        TestServer server(h.loop());
        const auto report = h.run("http_2xx", server.target("/status/200"), 5, "virtual.example");
        CHECK(report.success);
        CHECK(server.seen.host == "virtual.example");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("https with a test CA records the TLS metrics", "[integration][http]") {
    test::ProbeHarness h;
    const test::TestCert ca = test::make_ca("sonde http test CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    h.load(std::string(kHttpModules) + R"yaml(  https:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      tls_config:
        ca_file: )yaml" +
           ca_file.path() + "\n");
    {
        std::string host_line;
        test::ScriptedTcpServer server(
            h.loop(), {},
            [&host_line](test::ScriptedTcpServer::Connection& conn, std::string_view line) {
                if (line.rfind("Host: ", 0) == 0) {
                    host_line = std::string(line);
                }
                if (line.empty()) {
                    conn.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
                }
            });
        auto server_ctx = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
        REQUIRE(server_ctx);
        server.use_tls(*server_ctx);
        const std::string port = std::to_string(server.port());

        SECTION("by name, verified") {
            const auto report = h.run("https", "https://localhost:" + port + "/");
            INFO(report.log);
            CHECK(report.success);
            const auto& r = *report.registry;
            CHECK(metric_value(r, "probe_http_ssl") == 1);
            CHECK(metric_value(r, "probe_http_status_code") == 200);
            CHECK(metric_value(r, "probe_ssl_earliest_cert_expiry") ==
                  static_cast<double>(leaf.not_after));
            CHECK(metric_value(r, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1);
            CHECK_FALSE(test::metric_label_sets(r, "probe_tls_cipher_info").empty());
            CHECK(metric_value(r, "probe_http_duration_seconds", {{"phase", "tls"}}) > 0);
            CHECK(host_line == "Host: localhost:" + port);
        }
        SECTION("a hostname parameter sets SNI, and a name the certificate lacks fails") {
            const auto report =
                h.run("https", "https://127.0.0.1:" + port + "/", 5, "not-in-cert.example");
            INFO(report.log);
            CHECK_FALSE(report.success);
            CHECK(report.failure == modules::FailureKind::Tls);
            CHECK(metric_value(*report.registry, "probe_http_ssl") == 0);
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http against a server that never answers fails at the deadline", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        test::ScriptedTcpServer silent(h.loop());
        const auto report =
            h.run("http_2xx", "127.0.0.1:" + std::to_string(silent.port()) + "/", 0.3);
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Timeout);
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 0);
        CHECK(silent.accepted() == 1);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http to a closed port is a connect failure", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    std::string target;
    {
        test::ScriptedTcpServer gone(h.loop());
        target = "127.0.0.1:" + std::to_string(gone.port()) + "/";
    }
    const auto report = h.run("http_2xx", target);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Connect);
    CHECK(metric_value(*report.registry, "probe_http_status_code") == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("http session destroyed mid-request closes cleanly", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kHttpModules);
    {
        test::ScriptedTcpServer silent(h.loop());
        std::optional<app::ProbeReport> report;
        auto run =
            h.start("http_2xx", "127.0.0.1:" + std::to_string(silent.port()) + "/", 5, &report);
        REQUIRE(h.fixture().run_until([&] { return silent.accepted() == 1; }));
        run.reset();
        CHECK_FALSE(report.has_value());
    }
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

// The http prober over HTTP/2: negotiated by ALPN over TLS (enable_http2, on by default, as in
// the exporter), against an nghttp2 server the test runs and against nginx's http2 listener.
// valid_http_versions, probe_http_version and every check apply as on HTTP/1.1.
#include <optional>
#include <string>

#include <catch2/catch.hpp>
#include <nghttp2/nghttp2.h>

#include "tests/support/h2_test_server.hpp"
#include "tests/support/hostile_tcp_server.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::metric_value;

// A CA and a localhost certificate for the TLS servers of this file, and the modules that
// trust that CA.
struct Http2Fixture {
    test::TestCert ca = test::make_ca("HTTP/2 Test CA");
    test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    test::TempFile ca_file{ca.cert_pem};

    test::H2TestServer::Options tls_server(std::vector<std::string> alpn = {"h2"}) const {
        test::H2TestServer::Options options;
        options.tls = true;
        options.cert_pem = leaf.cert_pem;
        options.key_pem = leaf.key_pem;
        options.alpn = std::move(alpn);
        return options;
    }

    std::string modules() const {
        const std::string tls = "      tls_config: {ca_file: " + ca_file.path() + "}\n";
        return R"yaml(modules:
  h2:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      valid_http_versions: [HTTP/2.0]
      fail_if_body_not_matches_regexp: ["healthy"]
      fail_if_header_not_matches:
        - header: X-Backend
          regexp: "^h2-"
)yaml" + tls + R"yaml(  h1_only:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      valid_http_versions: [HTTP/1.1]
)yaml" + tls + R"yaml(  no_h2:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      enable_http2: false
)yaml" + tls + R"yaml(  post:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      method: POST
      body: '{"check":true}'
      headers: {Content-Type: application/json, Connection: keep-alive}
)yaml" + tls + R"yaml(  small:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      body_size_limit: 1KiB
)yaml" + tls;
    }
};

test::H2TestReply healthy_reply(const test::H2TestRequest& /*request*/) {
    test::H2TestReply reply;
    reply.headers = {{"content-type", "text/plain"}, {"x-backend", "h2-one"}};
    reply.body = "healthy\n";
    return reply;
}

std::string https_target(const test::H2TestServer& server, const std::string& path) {
    return "https://localhost:" + std::to_string(server.port()) + path;
}

TEST_CASE("http2: ALPN selects h2 and every check applies", "[integration][http][http2]") {
    Http2Fixture f;
    test::H2TestServer server(healthy_reply, f.tls_server());
    test::ProbeHarness h;
    h.load(f.modules());
    const auto report = h.run("h2", https_target(server, "/healthz?x=1"));
    INFO(report.detail);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_http_version") == 2);
    CHECK(metric_value(*report.registry, "probe_http_status_code") == 200);
    CHECK(metric_value(*report.registry, "probe_http_content_length") == -1);
    CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 8);
    CHECK(metric_value(*report.registry, "probe_http_ssl") == 1);
    CHECK(metric_value(*report.registry, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1);
    // The response's header block, not the server's SETTINGS, starts "processing".
    const auto processing =
        metric_value(*report.registry, "probe_http_duration_seconds", {{"phase", "processing"}});
    REQUIRE(processing.has_value());
    CHECK(*processing > 0);

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].scheme == "https");
    CHECK(requests[0].path == "/healthz?x=1");
    CHECK(requests[0].authority == "localhost:" + std::to_string(server.port()));
    CHECK(requests[0].find("user-agent").rfind("Blackbox-Exporter/", 0) == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: the checks fail on HTTP/2 as on HTTP/1.1", "[integration][http][http2]") {
    Http2Fixture f;
    test::H2TestServer server(
        [](const test::H2TestRequest&) {
            test::H2TestReply reply;
            reply.status = 200;
            reply.headers = {{"x-backend", "h1-legacy"}, {"content-length", "7"}};
            reply.body = "broken\n";
            return reply;
        },
        f.tls_server());
    test::ProbeHarness h;
    h.load(f.modules());
    auto report = h.run("h2", https_target(server, "/"));
    CHECK_FALSE(report.success);
    CHECK(metric_value(*report.registry, "probe_http_version") == 2);
    CHECK(metric_value(*report.registry, "probe_http_content_length") == 7);
    CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 1);

    // HTTP/1.1 was the only version allowed: the answer came over HTTP/2.
    report = h.run("h1_only", https_target(server, "/"));
    CHECK_FALSE(report.success);
    CHECK(metric_value(*report.registry, "probe_http_version") == 2);
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: a request body and its headers go out as HTTP/2 fields",
          "[integration][http][http2]") {
    Http2Fixture f;
    test::H2TestServer server(healthy_reply, f.tls_server());
    test::ProbeHarness h;
    h.load(f.modules());
    const auto report = h.run("post", https_target(server, "/submit"));
    INFO(report.detail);
    CHECK(report.success);
    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].body == R"({"check":true})");
    CHECK(requests[0].find("content-length") == "14");
    CHECK(requests[0].find("content-type") == "application/json");
    // Connection-specific fields are not HTTP/2's (nghttp2 on the server would refuse them).
    CHECK(requests[0].find("connection").empty());
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: enable_http2 false offers HTTP/1.1 only", "[integration][http][http2]") {
    Http2Fixture f;
    // The server selects h2 only if offered: without the offer it gets an HTTP/1.1 request,
    // which it cannot read, and closes.
    test::H2TestServer server(healthy_reply, f.tls_server());
    test::ProbeHarness h;
    h.load(f.modules());
    const auto report = h.run("no_h2", https_target(server, "/"));
    CHECK_FALSE(report.success);
    CHECK(server.requests().empty());
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: http2_prior_knowledge speaks h2c to plain http:// targets",
          "[integration][http][http2]") {
    test::H2TestServer server(healthy_reply, {});
    test::ProbeHarness h;
    h.load(R"yaml(modules:
  h2c:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      http2_prior_knowledge: true
      valid_http_versions: [HTTP/2.0]
  plain:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
)yaml");
    auto report = h.run("h2c", "http://" + server.address() + "/healthz");
    INFO(report.detail);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_http_version") == 2);
    CHECK(metric_value(*report.registry, "probe_http_ssl") == 0);
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].scheme == "http");
    // Without it, plain http:// is HTTP/1.1, which an h2c-only server cannot read.
    report = h.run("plain", "http://" + server.address() + "/healthz");
    CHECK_FALSE(report.success);
    CHECK(server.requests().size() == 1);
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: an HTTP/1.1 answer to the h2c preface fails at once, not at the deadline",
          "[integration][http][http2]") {
    test::ProbeHarness h;
    h.load(R"yaml(modules:
  h2c:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      http2_prior_knowledge: true
)yaml");
    {
        // It answers in HTTP/1.1 and never closes: only the reader can end the probe early.
        test::HostileOptions options(test::Hostility::EndlessHeaders);
        options.interval_ms = 50;
        test::HostileTcpServer server(h.loop(), options);
        const auto report = h.run("h2c", "http://" + server.address() + "/", 5);
        INFO(report.detail);
        CHECK_FALSE(report.success);
        CHECK(report.failure != modules::FailureKind::Timeout);
        CHECK(report.detail.find("HTTP/2 frames are invalid") != std::string::npos);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: a server that does not pick h2 is spoken to in HTTP/1.1",
          "[integration][http][http2][nginx]") {
    if (!test::NginxServer::available()) {
        WARN("nginx is not installed: " << test::NginxServer::kBinary);
        return;
    }
    test::NginxServer nginx;
    test::ProbeHarness h;
    h.load(
        "modules:\n  any:\n    prober: http\n    timeout: 3s\n    http:\n"
        "      preferred_ip_protocol: ip4\n      tls_config: {ca_file: " +
        nginx.ca_file() +
        "}\n  no_h2:\n    prober: http\n    timeout: 3s\n    http:\n"
        "      preferred_ip_protocol: ip4\n      enable_http2: false\n"
        "      tls_config: {ca_file: " +
        nginx.ca_file() + "}\n");
    // nginx's http2 listener selects h2.
    auto report = h.run("any", nginx.h2_url("/ok"));
    INFO(report.detail << nginx.error_log());
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_http_version") == 2);
    CHECK(metric_value(*report.registry, "probe_http_content_length") == 8);
    // Its plain TLS listener has no http2: ALPN falls back to HTTP/1.1.
    report = h.run("any", nginx.https_url("/ok"));
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_http_version") == 1.1);
    // enable_http2: false never offers h2, even to a server that has it.
    report = h.run("no_h2", nginx.h2_url("/ok"));
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_http_version") == 1.1);
    // Redirects across an HTTP/2 connection, and HEAD.
    report = h.run("any", nginx.h2_url("/chain/1"));
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_http_redirects") == 3);
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: a reset stream, a stall and a huge body fail the probe with a reason",
          "[integration][http][http2]") {
    Http2Fixture f;
    test::H2TestServer server(
        [](const test::H2TestRequest& request) {
            test::H2TestReply reply;
            if (request.path == "/reset") {
                reply.reset_code = NGHTTP2_INTERNAL_ERROR;
            } else if (request.path == "/stall") {
                reply.stall = true;
            } else {
                reply.body = std::string(4096, 'x');
            }
            return reply;
        },
        f.tls_server());
    test::ProbeHarness h;
    h.load(f.modules());

    auto report = h.run("small", https_target(server, "/reset"));
    CHECK_FALSE(report.success);
    CHECK(report.detail.find("reset") != std::string::npos);
    CHECK(report.detail.find("INTERNAL_ERROR") != std::string::npos);

    report = h.run("small", https_target(server, "/big"));
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Validation);

    report = h.run("small", https_target(server, "/stall"));
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Timeout);
    REQUIRE(h.close() == 0);
}

TEST_CASE("http2: a probe destroyed while its stream is open is clean",
          "[integration][http][http2]") {
    Http2Fixture f;
    test::H2TestServer server(
        [](const test::H2TestRequest&) {
            test::H2TestReply reply;
            reply.stall = true;
            return reply;
        },
        f.tls_server());
    test::ProbeHarness h;
    h.load(f.modules());
    std::optional<app::ProbeReport> report;
    auto run = h.start("h2", https_target(server, "/"), 5, &report);
    REQUIRE(h.fixture().run_until([&] { return !server.requests().empty(); }));
    run.reset();
    CHECK_FALSE(report.has_value());
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

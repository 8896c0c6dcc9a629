// The http prober against a real nginx (NginxServer: its own config in a temp dir, plain and
// TLS on free loopback ports, HTTP/1.1 only), through the module as a /probe call would run it.
#include <string>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "tests/support/metric_value.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/probe_harness.hpp"

namespace sonde {
namespace {

using test::metric_value;

std::string nginx_modules(const test::NginxServer& nginx) {
    const std::string ca = "      tls_config:\n        ca_file: " + nginx.ca_file() + "\n";
    return R"yaml(modules:
  http_2xx:
    prober: http
    http:
      preferred_ip_protocol: ip4
  head:
    prober: http
    http:
      preferred_ip_protocol: ip4
      method: HEAD
  gzip:
    prober: http
    http:
      preferred_ip_protocol: ip4
      compression: gzip
      headers:
        Accept-Encoding: gzip
      fail_if_body_not_matches_regexp: ["line 0 of a large text file"]
  auth:
    prober: http
    http:
      preferred_ip_protocol: ip4
      basic_auth:
        username: prober
        password: s3cret
  wrong_auth:
    prober: http
    http:
      preferred_ip_protocol: ip4
      basic_auth:
        username: prober
        password: wrong
  header_ok:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_header_not_matches:
      - header: X-Sonde
        regexp: "^nginx-"
  header_bad:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_header_matches:
      - header: X-Sonde
        regexp: "peer$"
  https:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
)yaml" + ca +
           R"yaml(  https_any:
    prober: http
    http:
      preferred_ip_protocol: ip4
)yaml" + ca +
           R"yaml(  https_no_ca:
    prober: http
    http:
      preferred_ip_protocol: ip4
)yaml";
}

#define SONDE_SKIP_WITHOUT_NGINX()                                      \
    if (!test::NginxServer::available()) {                              \
        WARN("nginx is not installed: " << test::NginxServer::kBinary); \
        return;                                                         \
    }

TEST_CASE("nginx: status codes, redirects and headers", "[integration][http][nginx]") {
    SONDE_SKIP_WITHOUT_NGINX();
    test::NginxServer nginx;
    test::ProbeHarness h;
    h.load(nginx_modules(nginx));
    struct Row {
        const char* module;
        const char* path;
        bool success;
        int status;
        int redirects;
    };
    const Row rows[] = {
        {"http_2xx", "/ok", true, 200, 0},          {"http_2xx", "/status/404", false, 404, 0},
        {"http_2xx", "/status/503", false, 503, 0}, {"http_2xx", "/redirect", true, 200, 1},
        {"http_2xx", "/chain/1", true, 200, 3},     {"http_2xx", "/missing-file", false, 404, 0},
        {"auth", "/private/", true, 200, 0},        {"http_2xx", "/private/", false, 401, 0},
        {"wrong_auth", "/private/", false, 401, 0}, {"header_ok", "/headers", true, 200, 0},
        {"header_bad", "/headers", false, 200, 0},
    };
    for (const Row& row : rows) {
        const auto report = h.run(row.module, nginx.http_url(row.path));
        INFO(row.module << " " << row.path << "\n" << report.log << nginx.error_log());
        CHECK(report.success == row.success);
        const auto& r = *report.registry;
        CHECK(metric_value(r, "probe_http_status_code") == row.status);
        CHECK(metric_value(r, "probe_http_redirects") == row.redirects);
        CHECK(metric_value(r, "probe_http_version") == 1.1);
        CHECK(metric_value(r, "probe_http_ssl") == 0);
        CHECK(metric_value(r, "probe_failed_due_to_regex") ==
              (std::string(row.module) == "header_bad" ? 1 : 0));
    }
    const auto ok = h.run("http_2xx", nginx.http_url("/ok"));
    CHECK(metric_value(*ok.registry, "probe_http_content_length") == 8);  // "healthy\n"
    CHECK(metric_value(*ok.registry, "probe_http_uncompressed_body_length") == 8);
    REQUIRE(h.close() == 0);
}

TEST_CASE("nginx: gzip, Last-Modified and HEAD", "[integration][http][nginx]") {
    SONDE_SKIP_WITHOUT_NGINX();
    test::NginxServer nginx;
    test::ProbeHarness h;
    h.load(nginx_modules(nginx));
    SECTION("gzip with compression: decoded; without: the raw bytes") {
        auto report = h.run("gzip", nginx.http_url("/big.txt"));
        INFO(report.log);
        CHECK(report.success);
        const auto& r = *report.registry;
        const auto uncompressed = metric_value(r, "probe_http_uncompressed_body_length");
        REQUIRE(uncompressed.has_value());
        CHECK(*uncompressed >= 256 * 1024);
        // nginx chunks what it compresses on the fly: the length is unknown.
        CHECK(metric_value(r, "probe_http_content_length") == -1);
        report = h.run("http_2xx", nginx.http_url("/big.txt"));
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_content_length") == *uncompressed);
    }
    SECTION("a static file's Last-Modified") {
        const auto report = h.run("http_2xx", nginx.http_url("/static.html"));
        INFO(report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_last_modified_timestamp_seconds") ==
              static_cast<double>(test::NginxServer::kStaticMtime));
        CHECK(metric_value(*report.registry, "probe_http_content_length") == 14);
    }
    SECTION("HEAD") {
        const auto report = h.run("head", nginx.http_url("/static.html"));
        INFO(report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_content_length") == 14);
        CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("nginx: https with the test CA, and redirects across schemes",
          "[integration][http][nginx]") {
    SONDE_SKIP_WITHOUT_NGINX();
    test::NginxServer nginx;
    test::ProbeHarness h;
    h.load(nginx_modules(nginx));
    SECTION("verified with the CA") {
        const auto report = h.run("https", nginx.https_url("/ok"));
        INFO(report.log << nginx.error_log());
        CHECK(report.success);
        const auto& r = *report.registry;
        CHECK(metric_value(r, "probe_http_ssl") == 1);
        CHECK(metric_value(r, "probe_http_status_code") == 200);
        CHECK(metric_value(r, "probe_ssl_earliest_cert_expiry") ==
              static_cast<double>(nginx.cert_not_after()));
        CHECK(metric_value(r, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1);
        CHECK(metric_value(r, "probe_http_duration_seconds", {{"phase", "tls"}}) > 0);
    }
    SECTION("without the CA the handshake fails") {
        const auto report = h.run("https_no_ca", nginx.https_url("/ok"));
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Tls);
    }
    SECTION("http -> https: the final request is over TLS") {
        const auto report = h.run("https", nginx.http_url("/to-https"));
        INFO(report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_ssl") == 1);
        CHECK(metric_value(*report.registry, "probe_http_redirects") == 1);
    }
    SECTION("fail_if_not_ssl against plain nginx") {
        const auto report = h.run("https", nginx.http_url("/ok"));
        CHECK_FALSE(report.success);
        CHECK(report.detail == "Final request was not over SSL");
    }
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

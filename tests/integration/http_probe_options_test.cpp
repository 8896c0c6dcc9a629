// The http prober's options end to end, through the module (ProbeRun, real resolver, real
// sockets), against servers the test starts on loopback port 0: HEAD, redirect loops and
// https -> http redirects, deflate and br bodies, body_file, bearer tokens, TLS client
// certificates, IPv6, ip6 preference with and without fallback, a CONNECT proxy with no_proxy
// and from the environment, HTTP versions and options sonde cannot honour yet.
#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "config/loader.hpp"
#include "prober/app/module_runtime.hpp"
#include "prober/net/http_server.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/compressors.hpp"
#include "tests/support/connect_proxy.hpp"
#include "tests/support/fake_dns_server.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/request_headers.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::metric_value;

constexpr const char* kOptionsModules = R"yaml(modules:
  http_2xx:
    prober: http
    http:
      preferred_ip_protocol: ip4
  head:
    prober: http
    http:
      preferred_ip_protocol: ip4
      method: HEAD
  deflate:
    prober: http
    http:
      preferred_ip_protocol: ip4
      compression: deflate
      fail_if_body_not_matches_regexp: ["^(hello )+$"]
  br:
    prober: http
    http:
      preferred_ip_protocol: ip4
      compression: br
      fail_if_body_not_matches_regexp: ["^(hello )+$"]
  bearer:
    prober: http
    http:
      preferred_ip_protocol: ip4
      bearer_token: tok3n
  http_v6:
    prober: http
    http:
      preferred_ip_protocol: ip6
  ip6_fallback:
    prober: http
    http:
      preferred_ip_protocol: ip6
  ip6_only:
    prober: http
    http:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
  want_http2:
    prober: http
    http:
      preferred_ip_protocol: ip4
      valid_http_versions: [HTTP/2.0]
  want_http11:
    prober: http
    http:
      preferred_ip_protocol: ip4
      valid_http_versions: [HTTP/1.1]
  http3:
    prober: http
    http:
      preferred_ip_protocol: ip4
      enable_http3: true
      enable_http2: false
  cel:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_body_json_matches_cel: "body.status == 'down'"
)yaml";

// What the server saw of the requests it answered.
struct OptionsSeen {
    int requests = 0;
    std::string method;
    std::string path;
    std::string host;
    std::string body;
    std::string authorization;
};

// sonde's HttpServer on bind_address (port 0), answering by path:
//   /status/<code>   that status
//   /loop/a, /loop/b 302 to each other, forever
//   /goto?<url>      302 to <url>
//   /deflate, /br    200 with "hello " x 100 encoded so, and its Content-Encoding
//   anything else    200 "ok"
struct OptionsServer {
    explicit OptionsServer(Loop& loop, const char* bind_address = "127.0.0.1:0")
        : server(std::make_unique<net::HttpServer>(
              loop, [this](const net::HttpRequest& request, net::HttpResponder responder) {
                  responder.respond(answer(request));
              })) {
        REQUIRE(server->listen(bind_address));
    }

    std::uint16_t port() const { return server->bound_port(); }

    net::HttpResponse answer(const net::HttpRequest& request) {
        ++seen.requests;
        seen.method = request.method;
        seen.path = request.path;
        seen.host = test::header_or_empty(request, "Host");
        seen.body = request.body;
        seen.authorization = test::header_or_empty(request, "Authorization");
        const std::string& path = request.path;
        if (path.rfind("/status/", 0) == 0) {
            const int code = std::stoi(path.substr(8));
            return net::HttpResponse::text(code, "status " + std::to_string(code));
        }
        if (path == "/goto") {
            // 302 to the URL given as the query, e.g. /goto?http://other.test:1/status/200
            net::HttpResponse response = net::HttpResponse::text(302, "");
            response.headers.set("Location", request.query);
            return response;
        }
        if (path == "/loop/a" || path == "/loop/b") {
            net::HttpResponse response = net::HttpResponse::text(302, "");
            response.headers.set("Location", path == "/loop/a" ? "/loop/b" : "/loop/a");
            return response;
        }
        std::string text;
        for (int i = 0; i < 100; ++i) {
            text += "hello ";
        }
        if (path == "/deflate" || path == "/br") {
            net::HttpResponse response = net::HttpResponse::text(
                200, path == "/br" ? test::brotli_compress(text) : test::deflate_raw(text));
            response.headers.set("Content-Encoding", path.substr(1));
            return response;
        }
        return net::HttpResponse::text(200, "ok");
    }

    OptionsSeen seen;
    std::unique_ptr<net::HttpServer> server;
};

std::string yaml_module(const std::string& name, const std::string& body) {
    return "  " + name + ":\n    prober: http\n    http:\n      preferred_ip_protocol: ip4\n" +
           body;
}

TEST_CASE("http HEAD reads headers only, whatever Content-Length says", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kOptionsModules);
    {
        // Had the client waited for the 1234 announced bytes, the probe would time out.
        test::ScriptedTcpServer server(
            h.loop(), {}, [](test::ScriptedTcpServer::Connection& conn, std::string_view line) {
                if (line.empty()) {
                    conn.write(
                        "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n"
                        "Content-Type: text/plain\r\n\r\n");
                }
            });
        const auto report = h.run("head", server.address() + "/", 5);
        INFO(report.log);
        CHECK(report.success);
        REQUIRE_FALSE(server.lines().empty());
        CHECK(server.lines().front() == "HEAD / HTTP/1.1");
        const auto& r = *report.registry;
        CHECK(metric_value(r, "probe_http_status_code") == 200);
        // Go keeps a HEAD response's Content-Length as announced (transfer.go).
        CHECK(metric_value(r, "probe_http_content_length") == 1234);
        CHECK(metric_value(r, "probe_http_uncompressed_body_length") == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http chunked and close-delimited bodies through the module", "[integration][http]") {
    struct Row {
        const char* name;
        const char* reply;
        double content_length;
    };
    const Row row = GENERATE(
        Row{"chunked",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            -1},
        Row{"close-delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world", -1},
        Row{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", 11});
    test::ProbeHarness h;
    h.load(std::string(kOptionsModules) +
           yaml_module("hello", "      fail_if_body_not_matches_regexp: [\"^hello world$\"]\n"));
    {
        const std::string reply = row.reply;
        test::ScriptedTcpServer server(
            h.loop(), {},
            [reply](test::ScriptedTcpServer::Connection& conn, std::string_view line) {
                if (line.empty()) {
                    conn.write(reply);
                    // Every framing ends its connection here; only close-delimited needs it.
                    conn.stream->shutdown_write();
                }
            });
        const auto report = h.run("hello", server.address() + "/", 5);
        INFO(row.name << "\n" << report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_content_length") == row.content_length);
        CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 11);
        CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http redirect loop fails after ten redirects, counted as the exporter",
          "[integration][http]") {
    test::ProbeHarness h;
    h.load(kOptionsModules);
    {
        OptionsServer server(h.loop());
        const auto report =
            h.run("http_2xx", "127.0.0.1:" + std::to_string(server.port()) + "/loop/a");
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Validation);
        // The exporter's CheckRedirect refuses when len(via) > 10: eleven requests, the last
        // 302 is the final response and redirects reads 11.
        CHECK(server.seen.requests == 11);
        CHECK(metric_value(*report.registry, "probe_http_redirects") == 11);
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 302);
        CHECK(report.log.text().find("Maximum redirects exceeded") != std::string::npos);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http deflate and br bodies are decoded end to end", "[integration][http]") {
    const std::string algorithm = GENERATE("deflate", "br");
    test::ProbeHarness h;
    h.load(kOptionsModules);
    {
        OptionsServer server(h.loop());
        const std::string target = "127.0.0.1:" + std::to_string(server.port()) + "/" + algorithm;
        auto report = h.run(algorithm, target);
        INFO(algorithm << "\n" << report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_uncompressed_body_length") == 600);
        CHECK(metric_value(*report.registry, "probe_http_content_length") < 600);
        CHECK(metric_value(*report.registry, "probe_failed_due_to_regex") == 0);
        // Undecoded, the regex sees compressed bytes and fails: the decoding is what passed.
        report = h.run(algorithm == std::string("br") ? "deflate" : "br", target);
        CHECK_FALSE(report.success);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http body_file is sent as the request body", "[integration][http]") {
    test::ProbeHarness h;
    const test::TempFile body("{\"from\": \"a file\"}\n", ".json");
    h.load(std::string(kOptionsModules) + yaml_module("body_file",
                                                      "      method: POST\n"
                                                      "      body_file: " +
                                                          body.path() + "\n"));
    {
        OptionsServer server(h.loop());
        const auto report =
            h.run("body_file", "127.0.0.1:" + std::to_string(server.port()) + "/status/200");
        INFO(report.log);
        CHECK(report.success);
        CHECK(server.seen.method == "POST");
        CHECK(server.seen.body == "{\"from\": \"a file\"}\n");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http bearer_token and bearer_token_file reach the server", "[integration][http]") {
    test::ProbeHarness h;
    // prometheus/common trims the file's surrounding white space.
    const test::TempFile token("file-t0ken\n", ".txt");
    h.load(std::string(kOptionsModules) +
           yaml_module("bearer_file", "      bearer_token_file: " + token.path() + "\n"));
    {
        OptionsServer server(h.loop());
        const std::string target = "127.0.0.1:" + std::to_string(server.port()) + "/status/200";
        auto report = h.run("bearer", target);
        CHECK(report.success);
        CHECK(server.seen.authorization == "Bearer tok3n");
        report = h.run("bearer_file", target);
        INFO(report.log);
        CHECK(report.success);
        CHECK(server.seen.authorization == "Bearer file-t0ken");
    }
    REQUIRE(h.close() == 0);
}

// A TLS server (test CA) answering every request with `answer`.
std::unique_ptr<test::ScriptedTcpServer> tls_server(Loop& loop, const test::TestCert& leaf,
                                                    std::string answer,
                                                    const net::TlsServerOptions& options = {}) {
    auto server = std::make_unique<test::ScriptedTcpServer>(
        loop, std::string(),
        [answer = std::move(answer)](test::ScriptedTcpServer::Connection& conn,
                                     std::string_view line) {
            if (line.empty()) {
                conn.write(answer);
            }
        });
    auto context = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem, options);
    REQUIRE(context);
    server->use_tls(*context);
    return server;
}

TEST_CASE("http redirect from https to http ends over plain HTTP", "[integration][http]") {
    test::ProbeHarness h;
    const test::TestCert ca = test::make_ca("sonde http options CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    const std::string tls = "      tls_config:\n        ca_file: " + ca_file.path() + "\n";
    h.load(std::string(kOptionsModules) + yaml_module("https", tls) +
           yaml_module("https_only", "      fail_if_not_ssl: true\n" + tls));
    {
        OptionsServer plain(h.loop());
        auto secure = tls_server(
            h.loop(), leaf,
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:" + std::to_string(plain.port()) +
                "/status/200\r\nContent-Length: 0\r\n\r\n");
        const std::string target = "https://localhost:" + std::to_string(secure->port()) + "/";

        auto report = h.run("https", target);
        INFO(report.log);
        CHECK(report.success);
        const auto& r = *report.registry;
        CHECK(metric_value(r, "probe_http_redirects") == 1);
        CHECK(metric_value(r, "probe_http_ssl") == 0);
        CHECK(metric_value(r, "probe_http_status_code") == 200);
        // The TLS metrics are the final connection's: there is none.
        CHECK_FALSE(metric_value(r, "probe_ssl_earliest_cert_expiry").has_value());
        // The first hop's handshake still counts in phase tls.
        CHECK(metric_value(r, "probe_http_duration_seconds", {{"phase", "tls"}}) > 0);
        CHECK(plain.seen.requests == 1);
        CHECK(secure->tls_handshakes() == 1);

        report = h.run("https_only", target);
        CHECK_FALSE(report.success);
        CHECK(report.detail == "Final request was not over SSL");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("https with a client certificate the server requires", "[integration][http]") {
    test::ProbeHarness h;
    const test::TestCert ca = test::make_ca("sonde http options CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    test::CertSpec client_spec;
    client_spec.subject = {{"CN", "sonde probe"}};
    const test::TestCert client = test::make_signed(client_spec, ca);
    const test::TempFile ca_file(ca.cert_pem);
    const test::TempFile cert_file(client.cert_pem);
    const test::TempFile key_file(client.key_pem);
    h.load(std::string(kOptionsModules) +
           yaml_module("with_cert", "      tls_config:\n        ca_file: " + ca_file.path() +
                                        "\n        cert_file: " + cert_file.path() +
                                        "\n        key_file: " + key_file.path() + "\n") +
           yaml_module("without_cert",
                       "      tls_config:\n        ca_file: " + ca_file.path() + "\n"));
    {
        net::TlsServerOptions options;
        options.client_ca_pem = ca.cert_pem;
        options.require_client_cert = true;
        auto server =
            tls_server(h.loop(), leaf, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", options);
        const std::string target = "https://localhost:" + std::to_string(server->port()) + "/";

        auto report = h.run("with_cert", target);
        INFO(report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_http_ssl") == 1);
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 200);

        report = h.run("without_cert", target);
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.failure != modules::FailureKind::Timeout);
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 0);
        CHECK_FALSE(report.detail.empty());
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("https with an expired certificate fails verification", "[integration][http]") {
    test::ProbeHarness h;
    const test::TestCert ca = test::make_ca("sonde http options CA");
    test::CertSpec expired_spec = test::localhost_spec();
    expired_spec.not_before_offset = -7200;
    expired_spec.not_after_offset = -3600;
    const test::TestCert expired = test::make_signed(expired_spec, ca);
    const test::TempFile ca_file(ca.cert_pem);
    const std::string tls = "      tls_config:\n        ca_file: " + ca_file.path() + "\n";
    h.load(
        std::string(kOptionsModules) + yaml_module("https", tls) +
        yaml_module("https_insecure", "      tls_config:\n        insecure_skip_verify: true\n"));
    {
        auto server =
            tls_server(h.loop(), expired, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        const std::string target = "https://localhost:" + std::to_string(server->port()) + "/";
        auto report = h.run("https", target);
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Tls);
        CHECK(report.detail.find("expired") != std::string::npos);
        CHECK_FALSE(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry").has_value());
        // Unverified, the probe passes and the metrics show the past expiry.
        report = h.run("https_insecure", target);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
              static_cast<double>(expired.not_after));
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http to an IPv6 loopback target", "[integration][http]") {
    test::ProbeHarness h;
    h.load(kOptionsModules);
    {
        OptionsServer server(h.loop(), "[::1]:0");
        const std::string authority = "[::1]:" + std::to_string(server.port());
        const auto report = h.run("http_v6", "http://" + authority + "/status/200");
        INFO(report.log);
        CHECK(report.success);
        CHECK(metric_value(*report.registry, "probe_ip_protocol") == 6);
        CHECK(server.seen.host == authority);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http ip6 preferred falls back to IPv4 only when allowed", "[integration][http]") {
    test::ProbeHarness h;
    test::FakeDnsServer dns(h.loop());
    dns.add_a("v4only.test", "127.0.0.1");
    net::ResolverOptions options;
    options.servers = {dns.address()};
    options.use_hosts_file = false;
    h.use_resolver(options);
    h.load(kOptionsModules);
    {
        OptionsServer server(h.loop());
        const std::string authority = "v4only.test:" + std::to_string(server.port());
        SECTION("fallback on: IPv4 is used") {
            const auto report = h.run("ip6_fallback", "http://" + authority + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            CHECK(metric_value(*report.registry, "probe_ip_protocol") == 4);
            CHECK(server.seen.host == authority);
        }
        SECTION("fallback off: the probe fails resolving") {
            const auto report = h.run("ip6_only", "http://" + authority + "/status/200");
            INFO(report.log);
            CHECK_FALSE(report.success);
            CHECK(report.failure == modules::FailureKind::Resolve);
            CHECK(server.seen.requests == 0);
        }
    }
    dns.close();
    REQUIRE(h.close() == 0);
}

TEST_CASE("http through a CONNECT proxy from proxy_url", "[integration][http]") {
    test::ProbeHarness h;
    const test::TestCert ca = test::make_ca("sonde http options CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    {
        test::ConnectProxy proxy(h.loop());
        const std::string proxy_url =
            "      proxy_url: http://127.0.0.1:" + std::to_string(proxy.port()) + "\n";
        const std::string tls = "      tls_config:\n        ca_file: " + ca_file.path() + "\n";
        h.load(std::string(kOptionsModules) + yaml_module("proxied", proxy_url) +
               yaml_module("proxied_tls", proxy_url + tls) +
               yaml_module("proxied_tls_by_name",
                           proxy_url + tls + "      skip_resolve_phase_with_proxy: true\n"));
        SECTION("http: the request goes to the proxy in absolute-form") {
            OptionsServer server(h.loop());
            const std::string authority = "127.0.0.1:" + std::to_string(server.port());
            const auto report = h.run("proxied", "http://" + authority + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            REQUIRE(proxy.heads().size() == 1);
            CHECK(proxy.heads()[0].rfind("GET http://" + authority + "/status/200 HTTP/1.1", 0) ==
                  0);
            CHECK(proxy.tunnels() == 0);
            CHECK(server.seen.requests == 1);
            CHECK(server.seen.host == authority);
        }
        SECTION("https: a CONNECT tunnel, TLS with the origin through it") {
            auto server =
                tls_server(h.loop(), leaf, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
            const std::string port = std::to_string(server->port());
            const auto report = h.run("proxied_tls", "https://localhost:" + port + "/");
            INFO(report.log);
            CHECK(report.success);
            CHECK(metric_value(*report.registry, "probe_http_ssl") == 1);
            CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
                  static_cast<double>(leaf.not_after));
            REQUIRE(proxy.heads().size() == 1);
            // As the exporter: the target was resolved first and the URL names the address,
            // so the tunnel goes to it; TLS still verifies the name.
            CHECK(proxy.heads()[0].rfind("CONNECT 127.0.0.1:" + port + " HTTP/1.1", 0) == 0);
            CHECK(proxy.tunnels() == 1);
            CHECK(server->tls_handshakes() == 1);
        }
        SECTION("https with skip_resolve_phase_with_proxy: the proxy gets the name") {
            auto server =
                tls_server(h.loop(), leaf, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
            const std::string authority = "localhost:" + std::to_string(server->port());
            const auto report = h.run("proxied_tls_by_name", "https://" + authority + "/");
            INFO(report.log);
            CHECK(report.success);
            REQUIRE(proxy.heads().size() == 1);
            CHECK(proxy.heads()[0].rfind("CONNECT " + authority + " HTTP/1.1", 0) == 0);
            CHECK(proxy.tunnels() == 1);
            CHECK_FALSE(metric_value(*report.registry, "probe_ip_protocol").has_value());
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http no_proxy: a matching target goes direct, another through proxy_url",
          "[integration][http]") {
    test::ProbeHarness h;
    test::FakeDnsServer dns(h.loop());
    dns.add_a("direct.test", "127.0.0.1");
    dns.add_a("a.corp.test", "127.0.0.1");
    net::ResolverOptions options;
    options.servers = {dns.address()};
    options.use_hosts_file = false;
    h.use_resolver(options);
    {
        test::ConnectProxy proxy(h.loop());
        const std::string proxy_url =
            "      proxy_url: http://127.0.0.1:" + std::to_string(proxy.port()) + "\n";
        // skip_resolve_phase_with_proxy keeps the names in the URL, so no_proxy sees them.
        h.load(std::string(kOptionsModules) +
               yaml_module("no_proxy", proxy_url + "      no_proxy: \"direct.test, .corp.test\"\n"
                                                   "      skip_resolve_phase_with_proxy: true\n") +
               yaml_module("no_proxy_resolved", proxy_url + "      no_proxy: other.test\n"));
        OptionsServer server(h.loop());
        const std::string port = std::to_string(server.port());
        SECTION("listed name: direct, resolved by the client; the proxy saw nothing") {
            const auto report = h.run("no_proxy", "http://direct.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            CHECK(proxy.heads().empty());
            CHECK(server.seen.requests == 1);
            CHECK(server.seen.host == "direct.test:" + port);
        }
        SECTION("subdomain of a .domain entry: direct") {
            const auto report = h.run("no_proxy", "http://a.corp.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            CHECK(proxy.heads().empty());
            CHECK(server.seen.requests == 1);
        }
        SECTION("not listed: through the proxy, in absolute-form with the name") {
            const auto report = h.run("no_proxy", "http://elsewhere.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            REQUIRE(proxy.heads().size() == 1);
            CHECK(proxy.heads()[0].rfind("GET http://elsewhere.test:" + port + "/status/200 ", 0) ==
                  0);
            CHECK(server.seen.requests == 1);
        }
        SECTION("with no_proxy, the resolved loopback target goes direct (httpproxy's rule)") {
            // Without no_proxy the same module sends loopback through the proxy (the test
            // above, "http through a CONNECT proxy"): http.ProxyURL has no rules.
            const auto report = h.run("no_proxy_resolved", "http://127.0.0.1:" + port + "/");
            INFO(report.log);
            CHECK(report.success);
            CHECK(proxy.heads().empty());
            CHECK(server.seen.requests == 1);
        }
        SECTION("a redirect is judged by its own host") {
            const auto report =
                h.run("no_proxy", "http://direct.test:" + port +
                                      "/goto?http://elsewhere.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            CHECK(server.seen.requests == 2);
            REQUIRE(proxy.heads().size() == 1);
            CHECK(proxy.heads()[0].rfind("GET http://elsewhere.test:" + port + "/status/200 ", 0) ==
                  0);
        }
    }
    dns.close();
    REQUIRE(h.close() == 0);
}

// Sets environment variables for one scope and restores them. The test process runs no other
// thread while a probe runs, so setenv/getenv do not race.
class ScopedEnv {
public:
    ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
        for (const char* name : kNames) {
            const char* old = std::getenv(name);
            saved_.emplace_back(name,
                                old == nullptr ? std::nullopt : std::optional<std::string>(old));
            unsetenv(name);
        }
        for (const auto& [name, value] : vars) {
            setenv(name, value, 1);
        }
    }
    ~ScopedEnv() {
        for (const auto& [name, value] : saved_) {
            if (value) {
                setenv(name, value->c_str(), 1);
            } else {
                unsetenv(name);
            }
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    static constexpr const char* kNames[] = {"HTTP_PROXY",  "http_proxy", "HTTPS_PROXY",
                                             "https_proxy", "NO_PROXY",   "no_proxy"};
    std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

TEST_CASE("http proxy_from_environment: HTTP_PROXY and NO_PROXY as Go reads them",
          "[integration][http]") {
    test::ProbeHarness h;
    test::FakeDnsServer dns(h.loop());
    dns.add_a("direct.test", "127.0.0.1");
    net::ResolverOptions options;
    options.servers = {dns.address()};
    options.use_hosts_file = false;
    h.use_resolver(options);
    h.load(std::string(kOptionsModules) +
           yaml_module("from_env", "      proxy_from_environment: true\n") +
           yaml_module("from_env_skip",
                       "      proxy_from_environment: true\n"
                       "      skip_resolve_phase_with_proxy: true\n"));
    {
        test::ConnectProxy proxy(h.loop());
        OptionsServer server(h.loop());
        const std::string port = std::to_string(server.port());
        const std::string proxy_value = "127.0.0.1:" + std::to_string(proxy.port());  // no scheme
        const ScopedEnv env({{"http_proxy", proxy_value.c_str()}, {"NO_PROXY", "direct.test"}});
        SECTION("a loopback target never goes through the environment's proxy") {
            // Go's httpproxy refuses to proxy localhost and loopback addresses; the exporter
            // resolves the target to 127.0.0.1 first, so this request is direct.
            const auto report = h.run("from_env", "http://direct.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            CHECK(proxy.heads().empty());
            CHECK(server.seen.requests == 1);
        }
        SECTION("skip_resolve_phase_with_proxy does not apply to the environment's proxy") {
            // The exporter resolves unless a proxy_url is configured.
            const auto report =
                h.run("from_env_skip", "http://direct.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            CHECK(metric_value(*report.registry, "probe_ip_protocol") == 4);
            CHECK(proxy.heads().empty());
        }
        SECTION("a redirect to a name not in NO_PROXY goes through http_proxy") {
            const auto report =
                h.run("from_env",
                      "127.0.0.1:" + port + "/goto?http://remote.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            REQUIRE(proxy.heads().size() == 1);
            CHECK(proxy.heads()[0].rfind("GET http://remote.test:" + port + "/status/200 ", 0) ==
                  0);
            CHECK(server.seen.requests == 2);
        }
        SECTION("a redirect to a name in NO_PROXY goes direct") {
            const auto report =
                h.run("from_env",
                      "127.0.0.1:" + port + "/goto?http://direct.test:" + port + "/status/200");
            INFO(report.log);
            CHECK(report.success);
            CHECK(proxy.heads().empty());
            CHECK(server.seen.requests == 2);
        }
    }
    dns.close();
    REQUIRE(h.close() == 0);
}

TEST_CASE("http versions: HTTP/2.0 demanded of an HTTP/1.1 server fails with the reason",
          "[integration][http]") {
    test::ProbeHarness h;
    h.load(kOptionsModules);
    {
        OptionsServer server(h.loop());
        const std::string target = "127.0.0.1:" + std::to_string(server.port()) + "/status/200";
        auto report = h.run("want_http2", target);
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Validation);
        CHECK(report.detail == "Invalid HTTP version number");
        CHECK(report.log.text().find("HTTP/1.1") != std::string::npos);
        CHECK(metric_value(*report.registry, "probe_http_version") == 1.1);
        report = h.run("want_http11", target);
        CHECK(report.success);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http options sonde cannot honour yet load and fail the probe saying so",
          "[integration][http]") {
    test::ProbeHarness h;
    h.load(kOptionsModules);
    {
        OptionsServer server(h.loop());
        const std::string target = "127.0.0.1:" + std::to_string(server.port()) + "/status/200";
        SECTION("enable_http3") {
            const auto report = h.run("http3", target);
            INFO(report.log);
            CHECK_FALSE(report.success);
            CHECK(report.detail.find("HTTP/3") != std::string::npos);
            CHECK(report.log.text().find("not supported by sonde") != std::string::npos);
        }
        SECTION("CEL") {
            const auto report = h.run("cel", target);
            INFO(report.log);
            CHECK_FALSE(report.success);
            CHECK(report.log.text().find("CEL is not supported by sonde yet") != std::string::npos);
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http options sonde cannot honour yet are warned about at load, naming the module",
          "[integration][http]") {
    auto loaded = config::load_config_text(kOptionsModules, "test.yml");
    REQUIRE(loaded);
    auto runtime = app::build_runtime(loaded->config, loaded->warnings);
    REQUIRE(runtime);
    const auto& warnings = (*runtime)->warnings;
    const auto has = [&](const std::string& text) {
        return std::any_of(warnings.begin(), warnings.end(),
                           [&](const std::string& w) { return w.find(text) != std::string::npos; });
    };
    CHECK(has("module cel: CEL body checks are not supported by sonde yet"));
    CHECK(has("module http3: enable_http3 (HTTP/3) is not supported by sonde yet"));
    CHECK(warnings.size() == 2);
}

}  // namespace
}  // namespace sonde

// The grpc prober: the health service's Check call over HTTP/2 against a gRPC health server
// written on nghttp2 in tests/support (SERVING, NOT_SERVING, SERVICE_UNKNOWN, UNIMPLEMENTED,
// a stall, broken answers), plain and over TLS. Expected metrics are the exporter's (§2.7).
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "modules/grpc/grpc_health.hpp"
#include "tests/support/h2_test_server.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/silent_listener.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::metric_value;

// A HealthCheckResponse as a server frames it: prefix + field 1 (varint) when not UNKNOWN.
std::string grpc_health_message(int serving_status) {
    std::string message;
    if (serving_status != 0) {
        message = {'\x08', static_cast<char>(serving_status)};
    }
    std::string framed(5, '\0');
    framed[4] = static_cast<char>(message.size());
    return framed + message;
}

test::H2TestReply grpc_answer(int serving_status) {
    test::H2TestReply reply;
    reply.headers = {{"content-type", "application/grpc"}};
    reply.body = grpc_health_message(serving_status);
    reply.trailers = {{"grpc-status", "0"}};
    return reply;
}

// The health server: the service named in the request decides the answer.
test::H2TestReply grpc_health_server(const test::H2TestRequest& request) {
    const std::string service = request.body.size() > 7 ? request.body.substr(7) : "";
    if (service == "down") {
        return grpc_answer(2);
    }
    if (service == "who") {
        return grpc_answer(3);
    }
    if (service == "stall") {
        test::H2TestReply reply;
        reply.stall = true;
        return reply;
    }
    if (service == "garbage") {
        test::H2TestReply reply = grpc_answer(1);
        reply.body = std::string("\x00\x00\x00\x00\x03\x08\x01", 7);  // says 3 bytes, has 2
        return reply;
    }
    if (service == "unimplemented") {
        // Trailers-only: the status rides in the head, and the stream ends there.
        test::H2TestReply reply;
        reply.headers = {{"content-type", "application/grpc"},
                         {"grpc-status", "12"},
                         {"grpc-message", "unknown%20service%20grpc.health.v1.Health"}};
        return reply;
    }
    return grpc_answer(1);
}

std::string grpc_modules(const std::string& ca_file = {}) {
    std::string yaml = R"yaml(modules:
  grpc_plain:
    prober: grpc
    timeout: 2s
    grpc:
      preferred_ip_protocol: ip4
)yaml";
    for (const char* service : {"down", "who", "stall", "garbage", "unimplemented"}) {
        yaml += std::string("  grpc_") + service +
                ":\n    prober: grpc\n    timeout: 2s\n    grpc:\n"
                "      preferred_ip_protocol: ip4\n      service: " +
                service + "\n";
    }
    yaml += R"yaml(  grpc_metadata:
    prober: grpc
    timeout: 2s
    grpc:
      preferred_ip_protocol: ip4
      service: billing
      metadata:
        x-team: [payments, sre]
        authorization: [Bearer abc]
        trace-bin: ["\x01\x02"]
        content-type: [text/plain]
)yaml";
    if (!ca_file.empty()) {
        yaml +=
            "  grpc_tls:\n    prober: grpc\n    timeout: 2s\n    grpc:\n"
            "      preferred_ip_protocol: ip4\n      tls: true\n      tls_config:\n"
            "        ca_file: " +
            ca_file + "\n";
    }
    return yaml;
}

std::optional<double> serving(const app::ProbeReport& report, const std::string& status) {
    return metric_value(*report.registry, "probe_grpc_healthcheck_response",
                        {{"serving_status", status}});
}

TEST_CASE("grpc: SERVING over plain HTTP/2 succeeds with the exporter's metrics",
          "[integration][grpc]") {
    test::H2TestServer server(grpc_health_server, {});
    test::ProbeHarness h;
    h.load(grpc_modules());
    const auto report = h.run("grpc_plain", server.address());
    INFO(report.detail);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_success") == 1);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 0);
    CHECK(metric_value(*report.registry, "probe_grpc_ssl") == 0);
    CHECK(serving(report, "SERVING") == 1);
    CHECK(serving(report, "NOT_SERVING") == 0);
    CHECK(serving(report, "UNKNOWN") == 0);
    CHECK(serving(report, "SERVICE_UNKNOWN") == 0);
    CHECK(metric_value(*report.registry, "probe_ip_protocol") == 4);
    CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") == 0);
    CHECK(metric_value(*report.registry, "probe_grpc_duration_seconds", {{"phase", "check"}})
              .value_or(0) > 0);
    CHECK(metric_value(*report.registry, "probe_grpc_duration_seconds", {{"phase", "resolve"}})
              .has_value());

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].scheme == "http");
    CHECK(requests[0].path == "/grpc.health.v1.Health/Check");
    CHECK(requests[0].authority == server.address());
    CHECK(requests[0].find("content-type") == "application/grpc");
    CHECK(requests[0].find("te") == "trailers");
    // The call carries the probe's deadline.
    CHECK(requests[0].find("grpc-timeout").back() == 'm');
    // An empty service is the server's overall health: an empty message.
    CHECK(requests[0].body == std::string(5, '\0'));
    REQUIRE(h.close() == 0);
}

TEST_CASE("grpc: service and metadata are sent; the answer decides", "[integration][grpc]") {
    test::H2TestServer server(grpc_health_server, {});
    test::ProbeHarness h;
    h.load(grpc_modules());

    auto report = h.run("grpc_metadata", "http://" + server.address());
    CHECK(report.success);
    auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].body == modules::grpc::encode_health_check_request("billing"));
    std::vector<std::string> teams;
    for (const auto& [name, value] : requests[0].headers) {
        if (name == "x-team") {
            teams.push_back(value);
        }
    }
    CHECK(teams == std::vector<std::string>{"payments", "sre"});
    CHECK(requests[0].find("authorization") == "Bearer abc");
    // Binary metadata is base64 without padding; a reserved key does not replace the call's.
    CHECK(requests[0].find("trace-bin") == "AQI");
    CHECK(requests[0].find("content-type") == "application/grpc");

    report = h.run("grpc_down", server.address());
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Validation);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 0);
    CHECK(serving(report, "NOT_SERVING") == 1);
    CHECK(serving(report, "SERVING") == 0);

    report = h.run("grpc_who", server.address());
    CHECK_FALSE(report.success);
    CHECK(serving(report, "SERVICE_UNKNOWN") == 1);
    REQUIRE(h.close() == 0);
}

TEST_CASE("grpc: call errors report their status code", "[integration][grpc]") {
    test::H2TestServer server(grpc_health_server, {});
    test::ProbeHarness h;
    h.load(grpc_modules());

    auto report = h.run("grpc_unimplemented", server.address());
    CHECK_FALSE(report.success);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 12);
    CHECK(report.detail.find("unknown service grpc.health.v1.Health") != std::string::npos);
    for (const char* status : {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}) {
        CHECK(serving(report, status) == 0);
    }
    // No response came back: the exporter leaves probe_grpc_ssl unset (0).
    CHECK(metric_value(*report.registry, "probe_grpc_ssl") == 0);

    report = h.run("grpc_garbage", server.address());
    CHECK_FALSE(report.success);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 13);
    CHECK(report.detail.find("truncated") != std::string::npos);

    // Nothing listens: the call is UNAVAILABLE.
    std::uint16_t dead_port = 0;
    {
        test::SilentListener closed;
        dead_port = closed.port();
    }
    report = h.run("grpc_plain", "127.0.0.1:" + std::to_string(dead_port));
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Connect);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 14);
    REQUIRE(h.close() == 0);
}

TEST_CASE("grpc: a stalled call ends at the probe deadline as DEADLINE_EXCEEDED",
          "[integration][grpc]") {
    test::H2TestServer server(grpc_health_server, {});
    test::ProbeHarness h;
    h.load(grpc_modules());
    const auto report = h.run("grpc_stall", server.address(), 1);
    CHECK_FALSE(report.success);
    CHECK(report.failure == modules::FailureKind::Timeout);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 4);
    CHECK(serving(report, "SERVING") == 0);
    REQUIRE(h.close() == 0);
}

TEST_CASE("grpc: TLS with ALPN h2 and the certificate metrics", "[integration][grpc][tls]") {
    const auto ca = test::make_ca("gRPC Test CA");
    const auto leaf = test::make_signed(test::localhost_spec(), ca);
    test::TempFile ca_file(ca.cert_pem);
    test::H2TestServer::Options options;
    options.tls = true;
    options.cert_pem = leaf.cert_pem;
    options.key_pem = leaf.key_pem;
    test::H2TestServer server(grpc_health_server, options);
    test::ProbeHarness h;
    h.load(grpc_modules(ca_file.path()));

    auto report = h.run("grpc_tls", "localhost:" + std::to_string(server.port()));
    INFO(report.detail);
    CHECK(report.success);
    CHECK(metric_value(*report.registry, "probe_grpc_ssl") == 1);
    CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
          static_cast<double>(leaf.not_after));
    CHECK(metric_value(*report.registry, "probe_tls_version_info", {{"version", "TLS 1.3"}}) == 1);
    // The exporter's gRPC prober has no last-chain expiry.
    CHECK_FALSE(metric_value(*report.registry, "probe_ssl_last_chain_expiry_timestamp_seconds")
                    .has_value());
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].scheme == "https");

    // The plain module against the TLS port: the server reads no HTTP/2 and closes.
    report = h.run("grpc_plain", "localhost:" + std::to_string(server.port()));
    CHECK_FALSE(report.success);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 14);
    REQUIRE(h.close() == 0);
}

TEST_CASE("grpc: a TLS server that does not select h2 fails the call", "[integration][grpc][tls]") {
    const auto ca = test::make_ca("gRPC Test CA");
    const auto leaf = test::make_signed(test::localhost_spec(), ca);
    test::TempFile ca_file(ca.cert_pem);
    test::H2TestServer::Options options;
    options.tls = true;
    options.cert_pem = leaf.cert_pem;
    options.key_pem = leaf.key_pem;
    options.alpn = {"http/1.1"};
    test::H2TestServer server(grpc_health_server, options);
    test::ProbeHarness h;
    h.load(grpc_modules(ca_file.path()));
    const auto report = h.run("grpc_tls", "localhost:" + std::to_string(server.port()));
    CHECK_FALSE(report.success);
    CHECK(report.detail.find("ALPN") != std::string::npos);
    CHECK(metric_value(*report.registry, "probe_grpc_status_code") == 14);
    CHECK(server.requests().empty());
    REQUIRE(h.close() == 0);
}

TEST_CASE("grpc: a probe destroyed during its call is clean", "[integration][grpc]") {
    test::H2TestServer server(grpc_health_server, {});
    test::ProbeHarness h;
    h.load(grpc_modules());
    std::optional<app::ProbeReport> report;
    auto run = h.start("grpc_stall", server.address(), 5, &report);
    REQUIRE(h.fixture().run_until([&] { return !server.requests().empty(); }));
    run.reset();
    CHECK_FALSE(report.has_value());
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

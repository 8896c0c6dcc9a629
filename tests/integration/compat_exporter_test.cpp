// Side by side with the reference: the same tcp modules and targets probed by sonde and by
// Debian's prometheus-blackbox-exporter (0.23) give the same metric names, the same
// probe_success and the same value-bearing metrics (durations aside).
//
// Differences allowed, each because sonde follows the newer exporter (0.28 and later), which
// the reference document describes, where Debian's 0.23 is older:
//  - probe_timeout_seconds: added upstream after 0.28 (#1571); 0.23 does not have it.
//  - probe_failed_due_to_bytes: added in 0.28 with expect_bytes.
//  - probe_failed_due_to_regex when the connection fails: 0.23 registers it before dialing;
//    newer versions only once connected.
//  - probe_tls_cipher_info and the serialnumber label of probe_ssl_last_chain_info: added to
//    the exporter after 0.23; sonde has both. The chain info's other labels and value are
//    compared (without serialnumber), the cipher by the http tests.
// Not compared at all: query_response `labels` (probe_expect_info, 0.26) and `expect_bytes`
// (0.28), which 0.23 rejects as unknown fields; the tcp tests cover them.
#include <mutex>
#include <set>

#include <catch2/catch.hpp>

#include "tests/support/h2_test_server.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/support/threaded_http_server.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

constexpr const char* kExporter = "/usr/bin/prometheus-blackbox-exporter";

constexpr const char* kCompatConfig = R"yaml(modules:
  tcp_connect:
    prober: tcp
  tcp_connect_v4:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
  ssh_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH-2.0-"
  icmp_v4:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
  icmp_ttl5:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
      ttl: 5
  expect_nothing_matches:
    prober: tcp
    tcp:
      query_response:
      - expect: "^NEVER"
)yaml";

bool ignored_difference(const std::string& name, bool connect_failed) {
    if (name == "probe_timeout_seconds" || name == "probe_failed_due_to_bytes") {
        return true;
    }
    // Newer than 0.23: probe_tls_cipher_info (its name and value are checked by the http
    // tests against the handshake).
    if (name == "probe_tls_cipher_info") {
        return true;
    }
    return connect_failed && name == "probe_failed_due_to_regex";
}

bool is_duration(const std::string& key) {
    return key.find("duration_seconds") != std::string::npos ||
           key.find("lookup_time_seconds") != std::string::npos;
}

// A sample key without one label: `name{a="x",serialnumber="y",b="z"}` -> `name{a="x",b="z"}`.
std::string without_label(const std::string& key, const std::string& label) {
    const auto at = key.find(label + "=\"");
    if (at == std::string::npos) {
        return key;
    }
    auto end = key.find('"', at + label.size() + 2);
    while (end != std::string::npos && key[end - 1] == '\\') {
        end = key.find('"', end + 1);
    }
    if (end == std::string::npos) {
        return key;
    }
    std::size_t from = at;
    std::size_t to = end + 1;
    if (to < key.size() && key[to] == ',') {
        ++to;
    } else if (from > 0 && key[from - 1] == ',') {
        --from;
    }
    return key.substr(0, from) + key.substr(to);
}

// Probes query through sonde and through the exporter and checks that the metric names agree
// and every non-duration sample of the exporter's has the same value in sonde's output, less
// the named version differences. Returns sonde's samples for further checks.
test::Samples compare_side_by_side(std::uint16_t sonde_port, std::uint16_t exporter_port,
                                   const std::string& query, bool connect_failed) {
    const auto ours = test::http_request(sonde_port, "GET", query);
    const auto theirs = test::http_request(exporter_port, "GET", query);
    REQUIRE(ours.status == 200);
    REQUIRE(theirs.status == 200);
    auto our_samples = test::parse_samples(ours.body);
    const auto their_samples = test::parse_samples(theirs.body);
    // probe_ssl_last_chain_info's serialnumber label came after 0.23; the other labels and the
    // value are compared.
    test::Samples comparable;
    for (const auto& [key, value] : our_samples) {
        comparable[without_label(key, "serialnumber")] = value;
    }
    INFO("sonde:\n" << ours.body << "\nexporter:\n" << theirs.body);
    const auto kept_names = [&](const test::Samples& samples) {
        std::set<std::string> names;
        for (const auto& name : test::metric_names(samples)) {
            if (!ignored_difference(name, connect_failed)) {
                names.insert(name);
            }
        }
        return names;
    };
    CHECK(kept_names(our_samples) == kept_names(their_samples));
    for (const auto& [key, value] : their_samples) {
        if (is_duration(key) || ignored_difference(key.substr(0, key.find('{')), connect_failed)) {
            continue;
        }
        INFO("sample " << key);
        REQUIRE(comparable.count(key) == 1);
        CHECK(comparable.at(key) == Approx(value));
    }
    return our_samples;
}

TEST_CASE("tcp and icmp probes match blackbox_exporter side by side", "[integration][compat]") {
    test::TempDir dir;
    const std::string config = dir.write("blackbox.yml", kCompatConfig);
    test::ThreadedTcpServer ssh("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    test::SondeProcess sonde({"--config.file=" + config});
    const std::uint16_t exporter_port = test::free_port();
    test::SondeProcess exporter({kExporter, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
                                "Listening on", exporter_port);

    const std::string closed = "127.0.0.1:" + std::to_string(test::free_port());
    struct Case {
        std::string module;
        std::string target;
        bool connect_fails;
    };
    const std::vector<Case> cases = {
        {"tcp_connect", ssh.address(), false},
        {"tcp_connect_v4", ssh.address(), false},
        {"tcp_connect", closed, true},
        {"ssh_banner", ssh.address(), false},
        {"expect_nothing_matches", ssh.address(), false},
        // ICMP needs raw sockets here (root, as in CI): ping_group_range is "1 0".
        {"icmp_v4", "127.0.0.1", false},
        {"icmp_ttl5", "127.0.0.1", false},
    };
    for (const auto& c : cases) {
        INFO("module " << c.module << " target " << c.target);
        const std::string query = "/probe?module=" + c.module + "&target=" + c.target;
        (void)compare_side_by_side(sonde.port(), exporter.port(), query, c.connect_fails);
    }
}

constexpr const char* kDnsConfig = R"yaml(modules:
  dns_a:
    prober: dns
    dns:
      query_name: probe.test
      query_type: A
      preferred_ip_protocol: ip4
      validate_answer_rrs:
        fail_if_not_matches_regexp:
        - "probe.test.\t.*\tIN\tA\t127.0.0.1"
  dns_a_tcp:
    prober: dns
    dns:
      query_name: probe.test
      query_type: A
      transport_protocol: tcp
      preferred_ip_protocol: ip4
  dns_txt:
    prober: dns
    dns:
      query_name: probe.test
      query_type: TXT
      preferred_ip_protocol: ip4
  dns_wrong_answer:
    prober: dns
    dns:
      query_name: probe.test
      query_type: A
      preferred_ip_protocol: ip4
      validate_answer_rrs:
        fail_if_matches_regexp:
        - ".*127.0.0.1"
  dns_aaaa:
    prober: dns
    dns:
      query_name: probe.test
      query_type: AAAA
      preferred_ip_protocol: ip4
  dns_mx:
    prober: dns
    dns:
      query_name: probe.test
      query_type: MX
      preferred_ip_protocol: ip4
      validate_answer_rrs:
        fail_if_none_matches_regexp:
        - "MX\t10 mail.probe.test."
  dns_nxdomain:
    prober: dns
    dns:
      query_name: gone.nx.test
      query_type: A
      preferred_ip_protocol: ip4
  dns_nxdomain_expected:
    prober: dns
    dns:
      query_name: gone.nx.test
      query_type: A
      transport_protocol: tcp
      preferred_ip_protocol: ip4
      valid_rcodes: [NXDOMAIN]
  dns_unknown_name:
    prober: dns
    dns:
      query_name: elsewhere.test
      query_type: A
      preferred_ip_protocol: ip4
)yaml";

// The same dns modules against a real dnsmasq, probed by sonde and by the reference.
TEST_CASE("dns probes of dnsmasq match blackbox_exporter side by side", "[integration][compat]") {
    test::TempDir dir;
    const std::string config = dir.write("blackbox.yml", kDnsConfig);
    const std::uint16_t dns_port = test::free_port();
    test::SondeProcess dnsmasq(
        {"/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--pid-file=",
         "--port=" + std::to_string(dns_port), "--listen-address=127.0.0.1", "--bind-interfaces",
         "--no-resolv", "--no-hosts", "--log-facility=-", "--address=/probe.test/127.0.0.1",
         "--address=/probe.test/::1", "--mx-host=probe.test,mail.probe.test,10",
         "--address=/nx.test/", "--txt-record=probe.test,sonde was here"},
        "started", dns_port);
    test::SondeProcess sonde({"--config.file=" + config});
    const std::uint16_t exporter_port = test::free_port();
    test::SondeProcess exporter({kExporter, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
                                "Listening on", exporter_port);
    const std::string target = "127.0.0.1:" + std::to_string(dns_port);
    const std::vector<std::pair<std::string, double>> cases = {{"dns_a", 1},
                                                               {"dns_a_tcp", 1},
                                                               {"dns_txt", 1},
                                                               {"dns_wrong_answer", 0},
                                                               {"dns_unknown_name", 0},
                                                               {"dns_aaaa", 1},
                                                               {"dns_mx", 1},
                                                               {"dns_nxdomain", 0},
                                                               {"dns_nxdomain_expected", 1}};
    for (const auto& [module, expected_success] : cases) {
        INFO("module " << module);
        const std::string query = "/probe?module=" + module + "&target=" + target;
        const auto our_samples = compare_side_by_side(sonde.port(), exporter.port(), query, false);
        CHECK(our_samples.at("probe_success") == expected_success);
    }
}

constexpr const char* kHttpConfig = R"yaml(modules:
  http_2xx:
    prober: http
  http_v4:
    prober: http
    http:
      preferred_ip_protocol: ip4
  http_no_follow:
    prober: http
    http:
      follow_redirects: false
  http_body_regex:
    prober: http
    http:
      fail_if_body_not_matches_regexp: ["^healthy$"]
  http_post:
    prober: http
    http:
      method: POST
      headers:
        Content-Type: application/json
      body: '{"ping": true}'
      valid_status_codes: [201]
)yaml";

// Answers by path: /ok 200 "healthy", /missing 404, /redirect/<n> a 302 chain ending in /ok,
// /sick 200 "degraded", /post 201 for a POST with a body (else 400).
net::HttpResponse compat_answer(const net::HttpRequest& request) {
    const std::string& path = request.path;
    if (path == "/ok") {
        return net::HttpResponse::text(200, "healthy");
    }
    if (path == "/sick") {
        return net::HttpResponse::text(200, "degraded");
    }
    if (path == "/post") {
        const bool ok = request.method == "POST" && request.body == R"({"ping": true})";
        return net::HttpResponse::text(ok ? 201 : 400, ok ? "created" : "bad");
    }
    if (path.rfind("/redirect/", 0) == 0) {
        const int n = std::stoi(path.substr(10));
        net::HttpResponse response = net::HttpResponse::text(302, "");
        response.headers.set("Location", n <= 1 ? "/ok" : "/redirect/" + std::to_string(n - 1));
        return response;
    }
    return net::HttpResponse::text(404, "not found");
}

// The same http modules against one HTTP server in a thread, probed by sonde and by the
// reference. Differences allowed and named:
//  - probe_timeout_seconds (newer than 0.23, as above);
//  - the default User-Agent: 0.23 sends "Blackbox Exporter/0.23.0", sonde the 0.28 spelling
//    "Blackbox-Exporter/0.28.0 (sonde <version>)" (checked below, not a metric);
//  - probe_http_duration_seconds{phase="resolve"}: sonde and 0.23 both set it after the
//    lookup; values are durations and are not compared.
// probe_http_uncompressed_body_length exists in 0.23 (since 0.16) and is compared.
TEST_CASE("http probes match blackbox_exporter side by side", "[integration][compat][http]") {
    test::TempDir dir;
    const std::string config = dir.write("blackbox.yml", kHttpConfig);
    std::mutex agents_mutex;
    std::set<std::string> agents;
    test::ThreadedHttpServer server([&](const net::HttpRequest& request) {
        if (const std::string* agent = request.header("User-Agent")) {
            const std::lock_guard<std::mutex> lock(agents_mutex);
            agents.insert(*agent);
        }
        return compat_answer(request);
    });
    REQUIRE(server.port() != 0);
    test::SondeProcess sonde({"--config.file=" + config});
    const std::uint16_t exporter_port = test::free_port();
    test::SondeProcess exporter({kExporter, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
                                "Listening on", exporter_port);
    struct Case {
        std::string module;
        std::string path;
        double success;
    };
    const std::vector<Case> cases = {
        {"http_2xx", "/ok", 1},
        {"http_v4", "/ok", 1},
        {"http_2xx", "/missing", 0},
        {"http_2xx", "/redirect/3", 1},
        {"http_no_follow", "/redirect/1", 0},
        {"http_body_regex", "/ok", 1},
        {"http_body_regex", "/sick", 0},
        {"http_post", "/post", 1},
    };
    for (const auto& c : cases) {
        INFO("module " << c.module << " path " << c.path);
        const std::string query =
            "/probe?module=" + c.module + "&target=http://" + server.address() + c.path;
        const auto our_samples = compare_side_by_side(sonde.port(), exporter.port(), query, false);
        CHECK(our_samples.at("probe_success") == c.success);
    }
    const std::lock_guard<std::mutex> lock(agents_mutex);
    CHECK(agents.count("Blackbox Exporter/0.23.0") == 1);
    CHECK(agents.size() == 2);
}

std::string nginx_compat_config(const std::string& ca_file) {
    const std::string ca = "      tls_config:\n        ca_file: " + ca_file + "\n";
    return R"yaml(modules:
  http_2xx:
    prober: http
  http_v4:
    prober: http
    http:
      preferred_ip_protocol: ip4
  no_follow:
    prober: http
    http:
      preferred_ip_protocol: ip4
      follow_redirects: false
  not_ssl:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
  gzip:
    prober: http
    http:
      preferred_ip_protocol: ip4
      compression: gzip
      headers:
        Accept-Encoding: gzip
      fail_if_body_not_matches_regexp: ["line 0 of a large text file"]
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
  basic_auth:
    prober: http
    http:
      preferred_ip_protocol: ip4
      basic_auth:
        username: prober
        password: s3cret
  head:
    prober: http
    http:
      preferred_ip_protocol: ip4
      method: HEAD
  https:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
)yaml" + ca +
           R"yaml(  https_no_ca:
    prober: http
    http:
      preferred_ip_protocol: ip4
  h2_only:
    prober: http
    http:
      preferred_ip_protocol: ip4
      valid_http_versions: [HTTP/2.0]
)yaml" + ca;
}

// The matrix against a real nginx: plain, https with the test CA (an HTTP/1.1 listener) and
// https on nginx's http2 listener, where both sides negotiate h2 by ALPN, gzip with compression,
// redirects across schemes, 404 and 503, fail_if_not_ssl, header regexes, basic auth, HEAD,
// Last-Modified and the certificate metrics. Differences allowed are the ones named above; whatever
// else 0.23 lacks is named in ignored_nginx_difference.
TEST_CASE("http probes of nginx match blackbox_exporter side by side",
          "[integration][compat][http][nginx]") {
    if (!test::NginxServer::available()) {
        WARN("nginx is not installed: " << test::NginxServer::kBinary);
        return;
    }
    test::NginxServer nginx;
    test::TempDir dir;
    const std::string config = dir.write("blackbox.yml", nginx_compat_config(nginx.ca_file()));
    test::SondeProcess sonde({"--config.file=" + config});
    const std::uint16_t exporter_port = test::free_port();
    test::SondeProcess exporter({kExporter, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
                                "Listening on", exporter_port);
    struct Case {
        std::string module;
        std::string target;
        double success;
        bool connect_fails;
    };
    const std::vector<Case> cases = {
        {"http_2xx", nginx.http_url("/ok"), 1, false},
        {"http_v4", nginx.http_url("/ok"), 1, false},
        {"http_v4", nginx.http_url("/status/404"), 0, false},
        {"http_v4", nginx.http_url("/status/503"), 0, false},
        {"http_v4", nginx.http_url("/redirect"), 1, false},
        {"http_v4", nginx.http_url("/chain/1"), 1, false},
        {"no_follow", nginx.http_url("/redirect"), 0, false},
        {"http_v4", nginx.http_url("/static.html"), 1, false},
        {"http_v4", nginx.http_url("/big.txt"), 1, false},
        {"gzip", nginx.http_url("/big.txt"), 1, false},
        {"not_ssl", nginx.http_url("/ok"), 0, false},
        {"header_ok", nginx.http_url("/headers"), 1, false},
        {"header_bad", nginx.http_url("/headers"), 0, false},
        {"basic_auth", nginx.http_url("/private/"), 1, false},
        {"http_v4", nginx.http_url("/private/"), 0, false},
        {"head", nginx.http_url("/static.html"), 1, false},
        {"https", nginx.https_url("/ok"), 1, false},
        {"https", nginx.https_url("/status/404"), 0, false},
        {"https", nginx.http_url("/to-https"), 1, false},
        {"https", nginx.https_url("/chain/1"), 1, false},
        {"https_no_ca", nginx.https_url("/ok"), 0, true},
        {"https", nginx.h2_url("/ok"), 1, false},
        {"https", nginx.h2_url("/status/404"), 0, false},
        {"https", nginx.h2_url("/chain/1"), 1, false},
        {"h2_only", nginx.h2_url("/ok"), 1, false},
        {"h2_only", nginx.https_url("/ok"), 0, false},
    };
    for (const auto& c : cases) {
        INFO("module " << c.module << " target " << c.target);
        const std::string query = "/probe?module=" + c.module + "&target=" + c.target;
        const auto our_samples =
            compare_side_by_side(sonde.port(), exporter.port(), query, c.connect_fails);
        CHECK(our_samples.at("probe_success") == c.success);
    }
}

// gRPC health checks of a health server written on nghttp2 (tests/support), plain and TLS:
// SERVING, NOT_SERVING, a trailers-only UNIMPLEMENTED, and nothing listening. Debian's 0.23
// has the grpc prober (since 0.20) with the same metrics; its `metadata` came in 0.28, so no
// module here uses it (grpc_probe_test covers it).
TEST_CASE("grpc probes match blackbox_exporter side by side", "[integration][compat][grpc]") {
    const auto ca = test::make_ca("gRPC Compat CA");
    const auto leaf = test::make_signed(test::localhost_spec(), ca);
    test::TempFile ca_file(ca.cert_pem);
    const auto health = [](const test::H2TestRequest& request) {
        test::H2TestReply reply;
        reply.headers = {{"content-type", "application/grpc"}};
        const std::string service = request.body.size() > 7 ? request.body.substr(7) : "";
        if (service == "missing") {
            reply.headers.emplace_back("grpc-status", "12");
            reply.headers.emplace_back("grpc-message", "unknown service");
            return reply;
        }
        const char status = service == "down" ? 2 : 1;
        reply.body = std::string("\0\0\0\0\x02\x08", 6) + status;
        reply.trailers = {{"grpc-status", "0"}};
        return reply;
    };
    test::H2TestServer plain(health, {});
    test::H2TestServer::Options tls_options;
    tls_options.tls = true;
    tls_options.cert_pem = leaf.cert_pem;
    tls_options.key_pem = leaf.key_pem;
    test::H2TestServer tls(health, tls_options);

    test::TempDir dir;
    const std::string config = dir.write("blackbox.yml", R"yaml(modules:
  grpc:
    prober: grpc
    grpc:
      preferred_ip_protocol: ip4
  grpc_down:
    prober: grpc
    grpc:
      preferred_ip_protocol: ip4
      service: down
  grpc_missing:
    prober: grpc
    grpc:
      preferred_ip_protocol: ip4
      service: missing
  grpc_tls:
    prober: grpc
    grpc:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: )yaml" + ca_file.path() + "\n");
    test::SondeProcess sonde({"--config.file=" + config});
    const std::uint16_t exporter_port = test::free_port();
    test::SondeProcess exporter({kExporter, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
                                "Listening on", exporter_port);
    struct Case {
        std::string module;
        std::string target;
        double success;
    };
    const std::string tls_target = "localhost:" + std::to_string(tls.port());
    const std::vector<Case> cases = {
        {"grpc", plain.address(), 1},      {"grpc", "http://" + plain.address(), 1},
        {"grpc_down", plain.address(), 0}, {"grpc_missing", plain.address(), 0},
        {"grpc_tls", tls_target, 1},
    };
    for (const auto& c : cases) {
        INFO("module " << c.module << " target " << c.target);
        const std::string query = "/probe?module=" + c.module + "&target=" + c.target;
        const auto our_samples = compare_side_by_side(sonde.port(), exporter.port(), query, false);
        CHECK(our_samples.at("probe_success") == c.success);
    }
}

}  // namespace
}  // namespace sonde

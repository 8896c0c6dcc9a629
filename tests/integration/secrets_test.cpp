// Secrets never shown: a real sonde process configured with every kind of secret it knows
// (basic-auth passwords and password files, bearer tokens and token files, OAuth2 client
// secrets and the access tokens they fetch, proxy credentials in URLs, proxy CONNECT headers,
// secret http_headers, a Kubernetes token), each a recognisable canary. Every surface is then
// driven, failing probes and a bad reload included, and none may show a canary: the process log
// at debug level in both formats, /probe (plain and debug=true), /logs, /config, the status
// page, /metrics, the reload's error, and `sonde check` in text and JSON.
//
// The peers record what they received, so the test also proves that the canaries were in use
// (a config that silently dropped them would pass vacuously).

#include <csignal>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_http_server.hpp"

namespace sonde {
namespace {

constexpr const char* kCanary = "c4n4ry";

// Everything the peer was sent, to prove the canaries were used.
struct Received {
    std::mutex mutex;
    std::set<std::string> headers;  // "Name: value" of the credential headers

    void add(const net::HttpRequest& request) {
        std::lock_guard lock(mutex);
        for (const char* name : {"Authorization", "Proxy-Authorization", "X-Secret-Header"}) {
            if (const std::string* value = request.header(name)) {
                headers.insert(std::string(name) + ": " + *value);
            }
        }
    }
    bool has(const std::string& line) {
        std::lock_guard lock(mutex);
        return headers.count(line) != 0;
    }
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// The config, with @DIR@, @OK@ (the answering peer's port) and @DEAD@ (a closed port).
constexpr const char* kSecretsConfig = R"yaml(modules:
  basic:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      basic_auth: {username: prober, password: c4n4ry-basic-password}
      http_headers:
        X-Secret-Header:
          secrets: [c4n4ry-header-secret]
  basic_file:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      basic_auth: {username: prober, password_file: "@DIR@/password"}
  bearer:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      authorization: {credentials: c4n4ry-bearer}
  bearer_file:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      bearer_token_file: "@DIR@/bearer"
  legacy_bearer:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      bearer_token: c4n4ry-legacy-bearer
  oauth:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      oauth2:
        client_id: client
        client_secret: c4n4ry-oauth-secret
        token_url: "http://127.0.0.1:@OK@/token"
  oauth_file:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      oauth2:
        client_id: client
        client_secret_file: "@DIR@/oauth"
        token_url: "http://127.0.0.1:@DEAD@/token"
  oauth_bad_proxy:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      oauth2:
        client_id: client
        client_secret: c4n4ry-oauth-secret-2
        token_url: "http://127.0.0.1:@OK@/token"
        proxy_url: "http://user:c4n4ry-oauth-proxy@127.0.0.1:bad"
  proxied:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      proxy_url: "http://proxyuser:c4n4ry-proxy@127.0.0.1:@OK@"
      proxy_connect_header:
        Proxy-Authorization: [c4n4ry-connect-header]
  dead_proxy:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      proxy_url: "http://proxyuser:c4n4ry-dead-proxy@127.0.0.1:@DEAD@"
  bad_proxy:
    prober: http
    timeout: 3s
    http:
      preferred_ip_protocol: ip4
      proxy_url: "http://proxyuser:c4n4ry-bad-proxy@127.0.0.1:notaport"
targets:
  - module: basic
    targets: ["http://127.0.0.1:@OK@/", "http://127.0.0.1:@DEAD@/"]
    interval: 1s
  - module: basic_file
    targets: ["http://127.0.0.1:@OK@/", "http://127.0.0.1:@DEAD@/"]
  - module: bearer
    targets: ["http://127.0.0.1:@OK@/"]
  - module: bearer_file
    targets: ["http://127.0.0.1:@OK@/"]
  - module: legacy_bearer
    targets: ["http://127.0.0.1:@OK@/"]
  - module: oauth
    targets: ["http://127.0.0.1:@OK@/"]
  - module: oauth_file
    targets: ["http://127.0.0.1:@OK@/"]
  - module: oauth_bad_proxy
    targets: ["http://127.0.0.1:@OK@/"]
  - module: proxied
    targets: ["http://127.0.0.1:@OK@/", "https://127.0.0.1:@OK@/"]
  - module: dead_proxy
    targets: ["http://127.0.0.1:@OK@/"]
  - module: bad_proxy
    targets: ["http://127.0.0.1:@OK@/"]
discovery:
  kubernetes:
    kubeconfig: "@DIR@/kubeconfig"
    service_module: basic
    ingress_module: basic
)yaml";

constexpr const char* kKubeconfig = R"yaml(apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:@DEAD@"}
users:
- name: u
  user: {token: c4n4ry-kube-token}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
)yaml";

// Every (module, target) pair of kSecretsConfig's targets:, for /probe.
std::vector<std::pair<std::string, std::string>> probes(const std::string& ok,
                                                        const std::string& dead) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const char* module :
         {"basic", "basic_file", "bearer", "bearer_file", "legacy_bearer", "oauth", "oauth_file",
          "oauth_bad_proxy", "proxied", "dead_proxy", "bad_proxy"}) {
        out.emplace_back(module, "http://127.0.0.1:" + ok + "/");
        out.emplace_back(module, "http://127.0.0.1:" + dead + "/");
    }
    out.emplace_back("proxied", "https://127.0.0.1:" + ok + "/");
    return out;
}

std::string percent_encode(const std::string& text) {
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_') {
            out += static_cast<char>(c);
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

// Fails with the surface's name and the text around the first canary found.
void check_clean(const std::string& surface, const std::string& text) {
    const auto at = text.find(kCanary);
    INFO("surface: " << surface);
    if (at != std::string::npos) {
        const std::size_t from = at > 300 ? at - 300 : 0;
        INFO("around the canary: " << text.substr(from, 600));
        CHECK(at == std::string::npos);
    } else {
        CHECK(at == std::string::npos);
    }
}

void run_secrets_test(const std::string& log_format) {
    Received received;
    test::ThreadedHttpServer peer([&received](const net::HttpRequest& request) {
        received.add(request);
        if (request.path == "/token") {
            net::HttpResponse token = net::HttpResponse::text(
                200, R"({"access_token":"c4n4ry-access-token","token_type":"Bearer",)"
                     R"("expires_in":3600})");
            token.headers.set("Content-Type", "application/json");
            return token;
        }
        return net::HttpResponse::text(200, "ok");
    });
    const std::string ok = std::to_string(peer.port());
    const std::string dead = std::to_string(test::free_port());

    test::TempDir dir;
    dir.write("password", "c4n4ry-password-file\n");
    dir.write("bearer", "c4n4ry-bearer-file\n");
    dir.write("oauth", "c4n4ry-oauth-file\n");
    const auto fill = [&](const std::string& text) {
        return replace_all(replace_all(replace_all(text, "@DIR@", dir.path()), "@OK@", ok),
                           "@DEAD@", dead);
    };
    dir.write("kubeconfig", fill(kKubeconfig));
    const std::string config = dir.write("sonde.yml", fill(kSecretsConfig));

    std::vector<std::pair<std::string, std::string>> surfaces;  // name, text
    {
        // The ready pattern of SondeProcess reads logfmt: a JSON log is started on a known port.
        const std::uint16_t port = test::free_port();
        test::SondeProcess sonde({SONDE_BINARY, "--config.file=" + config, "--log.level=debug",
                                  "--log.prober=debug", "--log.format=" + log_format,
                                  "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                                 "Listening on", port);
        for (const auto& [module, target] : probes(ok, dead)) {
            const std::string query =
                "/probe?module=" + module + "&target=" + percent_encode(target);
            const auto debug = test::http_request(sonde.port(), "GET", query + "&debug=true");
            CHECK(debug.status == 200);
            surfaces.emplace_back("/probe debug=true " + module + " " + target, debug.body);
            const auto plain = test::http_request(sonde.port(), "GET", query);
            surfaces.emplace_back("/probe " + module + " " + target, plain.body);
            const auto logs =
                test::http_request(sonde.port(), "GET",
                                   "/logs?module=" + module + "&target=" + percent_encode(target));
            surfaces.emplace_back("/logs " + module + " " + target, logs.body);
        }
        const auto shown = test::http_request(sonde.port(), "GET", "/config");
        CHECK(shown.body.find("password: <secret>") != std::string::npos);
        CHECK(shown.body.find("http://proxyuser:xxxxx@127.0.0.1:" + ok) != std::string::npos);
        surfaces.emplace_back("/config", shown.body);
        surfaces.emplace_back("status page", test::http_request(sonde.port(), "GET", "/").body);
        surfaces.emplace_back("/metrics", test::http_request(sonde.port(), "GET", "/metrics").body);

        // Bad reloads: a syntax error in a file full of secrets, and a check that fails in a
        // module holding them; the answer and the log carry the reason only.
        for (const std::string& bad :
             {fill(kSecretsConfig) + "  broken: [c4n4ry-unterminated, {\n",
              replace_all(fill(kSecretsConfig), "      bearer_token: c4n4ry-legacy-bearer\n",
                          "      bearer_token: c4n4ry-legacy-bearer\n"
                          "      basic_auth: {username: u, password: c4n4ry-both}\n")}) {
            dir.write("sonde.yml", bad);
            const auto reload = test::http_request(sonde.port(), "POST", "/-/reload");
            CHECK(reload.status == 500);
            CHECK(reload.body.find("failed to reload config: " + config + ":") == 0);
            surfaces.emplace_back("/-/reload", reload.body);
        }
        dir.write("sonde.yml", fill(kSecretsConfig));
        sonde.signal(SIGTERM);
        CHECK(sonde.wait() == 0);
        surfaces.emplace_back("process log (" + log_format + ")", sonde.output());
    }
    for (const char* format : {"--json", "--metrics"}) {
        const auto check = test::run_command(
            {SONDE_BINARY, "check", "--config.file=" + config, "--log.level=debug", format});
        CHECK(check.exit_code == 1);  // some targets are meant to fail
        surfaces.emplace_back(std::string("sonde check ") + format, check.output);
    }
    const auto check_text =
        test::run_command({SONDE_BINARY, "check", "--config.file=" + config, "--log.level=debug"});
    surfaces.emplace_back("sonde check", check_text.output);

    // The canaries were in use: the peer received them.
    CHECK(received.has("Authorization: Bearer c4n4ry-bearer"));
    CHECK(received.has("Authorization: Bearer c4n4ry-bearer-file"));
    CHECK(received.has("Authorization: Bearer c4n4ry-legacy-bearer"));
    CHECK(received.has("Authorization: Bearer c4n4ry-access-token"));
    CHECK(received.has("X-Secret-Header: c4n4ry-header-secret"));
    // base64("prober:c4n4ry-basic-password"), base64("proxyuser:c4n4ry-proxy")
    CHECK(received.has("Authorization: Basic cHJvYmVyOmM0bjRyeS1iYXNpYy1wYXNzd29yZA=="));
    CHECK(received.has("Proxy-Authorization: Basic cHJveHl1c2VyOmM0bjRyeS1wcm94eQ=="));

    for (const auto& [name, text] : surfaces) {
        check_clean(name, text);
    }
}

}  // namespace

TEST_CASE("secrets never appear on any surface (logfmt log)", "[integration][secrets]") {
    run_secrets_test("logfmt");
}

TEST_CASE("secrets never appear on any surface (json log)", "[integration][secrets]") {
    run_secrets_test("json");
}

}  // namespace sonde

// oauth2 (client credentials) end to end through the http module: an in-test token endpoint on
// loopback checks what x/oauth2 sends (grant_type, scope, endpoint_params, the client
// credentials in a Basic header or, after a failure, in the body), the target checks the token,
// and token endpoint failures fail the probe with x/oauth2's reason.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "modules/common/base64.hpp"
#include "modules/http/request_builder.hpp"
#include "prober/net/http_server.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/connect_proxy.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/request_headers.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::metric_value;

// key=value pairs of a form body, values still encoded ("read+write").
std::map<std::string, std::string> form_fields(const std::string& body) {
    std::map<std::string, std::string> out;
    std::size_t begin = 0;
    while (begin < body.size()) {
        auto end = body.find('&', begin);
        if (end == std::string::npos) {
            end = body.size();
        }
        const std::string pair = body.substr(begin, end - begin);
        const auto eq = pair.find('=');
        out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
        begin = end + 1;
    }
    return out;
}

// The token endpoint. Answers by mode; records every request.
struct TokenServer {
    enum class Mode { HeaderAuth, BodyAuthOnly, Unauthorized, ServerError, BadJson, FormAnswer };

    TokenServer(Loop& loop, Mode mode, std::string secret)
        : mode_(mode),
          secret_(std::move(secret)),
          server(std::make_unique<net::HttpServer>(
              loop, [this](const net::HttpRequest& request, net::HttpResponder responder) {
                  responder.respond(answer(request));
              })) {
        REQUIRE(server->listen("127.0.0.1:0"));
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(server->bound_port()) + "/oauth2/token";
    }

    net::HttpResponse json(int status, const std::string& body) {
        net::HttpResponse response = net::HttpResponse::text(status, body);
        response.headers.set("Content-Type", "application/json");
        return response;
    }

    net::HttpResponse answer(const net::HttpRequest& request) {
        ++requests;
        methods.push_back(request.method);
        content_types.push_back(test::header_or_empty(request, "Content-Type"));
        authorizations.push_back(test::header_or_empty(request, "Authorization"));
        user_agents.push_back(test::header_or_empty(request, "User-Agent"));
        forms.push_back(form_fields(request.body));
        const auto& form = forms.back();
        const std::string expected_basic =
            "Basic " + modules::base64_encode("sonde+client:" + secret_escaped());
        const bool header_ok = authorizations.back() == expected_basic;
        const bool body_ok =
            form.count("client_id") != 0 && form.at("client_id") == "sonde+client" &&
            form.count("client_secret") != 0 && form.at("client_secret") == secret_escaped();
        switch (mode_) {
            case Mode::HeaderAuth:
                if (!header_ok) {
                    return json(401, R"({"error":"invalid_client"})");
                }
                return json(200,
                            R"({"access_token":"t0k3n","token_type":"bearer","expires_in":60})");
            case Mode::BodyAuthOnly:
                if (!body_ok) {
                    return json(401, R"({"error":"invalid_client","error_description":"no"})");
                }
                return json(200, R"({"access_token":"b0dy","token_type":"Bearer"})");
            case Mode::Unauthorized:
                return net::HttpResponse::text(401, "go away");
            case Mode::ServerError:
                return net::HttpResponse::text(500, "oops");
            case Mode::BadJson:
                return json(200, "{not json");
            case Mode::FormAnswer: {
                net::HttpResponse response =
                    net::HttpResponse::text(200, "access_token=f0rm&token_type=mac");
                response.headers.set("Content-Type", "application/x-www-form-urlencoded");
                return response;
            }
        }
        return net::HttpResponse::text(500, "");
    }

    // url.QueryEscape of the secret "s3cret/+": what the Basic header and the body carry.
    std::string secret_escaped() const {
        std::string out;
        for (const char c : secret_) {
            if (c == '/') {
                out += "%2F";
            } else if (c == '+') {
                out += "%2B";
            } else {
                out += c;
            }
        }
        return out;
    }

    Mode mode_;
    std::string secret_;
    int requests = 0;
    std::vector<std::string> methods;
    std::vector<std::string> content_types;
    std::vector<std::string> authorizations;
    std::vector<std::string> user_agents;
    std::vector<std::map<std::string, std::string>> forms;
    std::unique_ptr<net::HttpServer> server;
};

// The probed target: 200 when the Authorization is the expected one, 401 otherwise;
// /redirect sends a 302 to /final.
struct Target {
    explicit Target(Loop& loop)
        : server(std::make_unique<net::HttpServer>(
              loop, [this](const net::HttpRequest& request, net::HttpResponder responder) {
                  ++requests;
                  authorizations.push_back(test::header_or_empty(request, "Authorization"));
                  if (request.path == "/redirect") {
                      net::HttpResponse response = net::HttpResponse::text(302, "");
                      response.headers.set("Location", "/final");
                      responder.respond(std::move(response));
                      return;
                  }
                  responder.respond(net::HttpResponse::text(
                      authorizations.back() == expected ? 200 : 401, "target"));
              })) {
        REQUIRE(server->listen("127.0.0.1:0"));
    }
    std::string at(const std::string& path) const {
        return "127.0.0.1:" + std::to_string(server->bound_port()) + path;
    }

    std::string expected = "Bearer t0k3n";
    int requests = 0;
    std::vector<std::string> authorizations;
    std::unique_ptr<net::HttpServer> server;
};

std::string oauth2_module(const std::string& name, const std::string& token_url,
                          const std::string& extra = {}) {
    return "  " + name +
           ":\n    prober: http\n    http:\n      preferred_ip_protocol: ip4\n"
           "      oauth2:\n        client_id: sonde client\n        token_url: " +
           token_url + "\n" + extra;
}

const std::string kSecretLines =
    "        client_secret: s3cret/+\n        scopes: [read, write]\n"
    "        endpoint_params:\n          audience: probes\n";

TEST_CASE("http oauth2: token from the endpoint, bearer on the target", "[integration][http]") {
    test::ProbeHarness h;
    {
        TokenServer tokens(h.loop(), TokenServer::Mode::HeaderAuth, "s3cret/+");
        Target target(h.loop());
        h.load(std::string("modules:\n") + oauth2_module("oauth", tokens.url(), kSecretLines) +
               oauth2_module("oauth_header", tokens.url(),
                             kSecretLines + "      headers:\n        Authorization: Basic x\n"));
        SECTION("client credentials in a Basic header, scope and endpoint_params in the body") {
            const auto report = h.run("oauth", target.at("/"));
            INFO(report.log);
            CHECK(report.success);
            REQUIRE(tokens.requests == 1);
            CHECK(tokens.methods[0] == "POST");
            CHECK(tokens.content_types[0] == "application/x-www-form-urlencoded");
            CHECK(tokens.user_agents[0].rfind("Blackbox-Exporter/", 0) == 0);
            const auto& form = tokens.forms[0];
            CHECK(form.at("grant_type") == "client_credentials");
            CHECK(form.at("scope") == "read+write");
            CHECK(form.at("audience") == "probes");
            CHECK(form.count("client_id") == 0);  // the header style sends them in the header
            REQUIRE(target.requests == 1);
            CHECK(target.authorizations[0] == "Bearer t0k3n");
            CHECK(metric_value(*report.registry, "probe_http_status_code") == 200);
        }
        SECTION("the token goes on every redirect hop, fetched once per probe") {
            const auto report = h.run("oauth", target.at("/redirect"));
            INFO(report.log);
            CHECK(report.success);
            CHECK(tokens.requests == 1);
            REQUIRE(target.requests == 2);
            CHECK(target.authorizations[0] == "Bearer t0k3n");
            CHECK(target.authorizations[1] == "Bearer t0k3n");
            CHECK(metric_value(*report.registry, "probe_http_redirects") == 1);
        }
        SECTION("the token replaces a configured Authorization header") {
            const auto report = h.run("oauth_header", target.at("/"));
            INFO(report.log);
            CHECK(report.success);
            REQUIRE(target.requests == 1);
            CHECK(target.authorizations[0] == "Bearer t0k3n");
        }
        SECTION("each probe fetches its own token") {
            CHECK(h.run("oauth", target.at("/")).success);
            CHECK(h.run("oauth", target.at("/")).success);
            CHECK(tokens.requests == 2);
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http oauth2: header style refused, credentials retried in the body (auto-detect)",
          "[integration][http]") {
    test::ProbeHarness h;
    const test::TempFile secret_file("s3cret/+\n", ".txt");
    {
        TokenServer tokens(h.loop(), TokenServer::Mode::BodyAuthOnly, "s3cret/+");
        Target target(h.loop());
        target.expected = "Bearer b0dy";
        h.load(std::string("modules:\n") +
               oauth2_module("oauth_file", tokens.url(),
                             "        client_secret_file: " + secret_file.path() + "\n"));
        const auto report = h.run("oauth_file", target.at("/"));
        INFO(report.log);
        CHECK(report.success);
        REQUIRE(tokens.requests == 2);
        CHECK_FALSE(tokens.authorizations[0].empty());
        CHECK(tokens.authorizations[1].empty());
        CHECK(tokens.forms[1].at("client_id") == "sonde+client");
        CHECK(tokens.forms[1].at("client_secret") == "s3cret%2F%2B");
        CHECK(tokens.forms[1].count("scope") == 0);
        REQUIRE(target.requests == 1);
        CHECK(target.authorizations[0] == "Bearer b0dy");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http oauth2: a form-encoded answer and its token type", "[integration][http]") {
    test::ProbeHarness h;
    {
        TokenServer tokens(h.loop(), TokenServer::Mode::FormAnswer, "s3cret/+");
        Target target(h.loop());
        target.expected = "MAC f0rm";
        h.load(std::string("modules:\n") + oauth2_module("oauth", tokens.url(), kSecretLines));
        const auto report = h.run("oauth", target.at("/"));
        INFO(report.log);
        CHECK(report.success);
        REQUIRE(target.requests == 1);
        CHECK(target.authorizations[0] == "MAC f0rm");
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http oauth2: token endpoint failures fail the probe with the reason",
          "[integration][http]") {
    struct Row {
        TokenServer::Mode mode;
        const char* reason;
    };
    const Row row = GENERATE(Row{TokenServer::Mode::Unauthorized,
                                 "oauth2: cannot fetch token: 401 Unauthorized\nResponse: go away"},
                             Row{TokenServer::Mode::ServerError,
                                 "oauth2: cannot fetch token: 500 Internal Server Error"},
                             Row{TokenServer::Mode::BadJson, "oauth2: cannot parse json"});
    test::ProbeHarness h;
    {
        TokenServer tokens(h.loop(), row.mode, "s3cret/+");
        Target target(h.loop());
        h.load(std::string("modules:\n") + oauth2_module("oauth", tokens.url(), kSecretLines));
        const auto report = h.run("oauth", target.at("/"));
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.detail.find(row.reason) != std::string::npos);
        CHECK(report.log.text().find("Error for HTTP request") != std::string::npos);
        CHECK(report.log.text().find("oauth2: ") != std::string::npos);
        // Both auth styles were tried; the target never saw a request.
        CHECK(tokens.requests == 2);
        CHECK(target.requests == 0);
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http oauth2: unreachable endpoint and unreadable secret file fail with the reason",
          "[integration][http]") {
    test::ProbeHarness h;
    {
        Target target(h.loop());
        h.load(std::string("modules:\n") +
               oauth2_module("refused", "http://127.0.0.1:1/token", kSecretLines) +
               oauth2_module("no_file", "http://127.0.0.1:1/token",
                             "        client_secret_file: /nonexistent/sonde-secret\n"));
        auto report = h.run("refused", target.at("/"));
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.detail.find("oauth2: cannot fetch token: connect to 127.0.0.1:1") !=
              std::string::npos);
        report = h.run("no_file", target.at("/"));
        CHECK_FALSE(report.success);
        CHECK(report.detail.find("/nonexistent/sonde-secret") != std::string::npos);
        CHECK(target.requests == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http oauth2: token request through the oauth2 block's proxy_url",
          "[integration][http]") {
    test::ProbeHarness h;
    {
        test::ConnectProxy proxy(h.loop());
        TokenServer tokens(h.loop(), TokenServer::Mode::HeaderAuth, "s3cret/+");
        Target target(h.loop());
        h.load(std::string("modules:\n") +
               oauth2_module("oauth_proxy", tokens.url(),
                             kSecretLines + "        proxy_url: http://127.0.0.1:" +
                                 std::to_string(proxy.port()) + "\n"));
        const auto report = h.run("oauth_proxy", target.at("/"));
        INFO(report.log);
        CHECK(report.success);
        // Only the token request used the proxy: the module itself has none.
        REQUIRE(proxy.heads().size() == 1);
        CHECK(proxy.heads()[0].rfind("POST " + tokens.url() + " HTTP/1.1", 0) == 0);
        CHECK(tokens.requests == 1);
        CHECK(target.requests == 1);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http oauth2: an https token endpoint verified with the oauth2 block's tls_config",
          "[integration][http]") {
    test::ProbeHarness h;
    const test::TestCert ca = test::make_ca("sonde oauth2 CA");
    const test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    const test::TempFile ca_file(ca.cert_pem);
    {
        const std::string body = R"({"access_token":"t0k3n","token_type":"bearer"})";
        test::ScriptedTcpServer tokens(
            h.loop(), {},
            [&body](test::ScriptedTcpServer::Connection& conn, std::string_view line) {
                if (line.empty()) {
                    conn.write(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body);
                }
            });
        auto context = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
        REQUIRE(context);
        tokens.use_tls(*context);
        Target target(h.loop());
        const std::string url = "https://localhost:" + std::to_string(tokens.port()) + "/token";
        h.load(std::string("modules:\n") +
               oauth2_module("trusted", url,
                             kSecretLines + "        tls_config:\n          ca_file: " +
                                 ca_file.path() + "\n") +
               oauth2_module("untrusted", url, kSecretLines));
        auto report = h.run("trusted", target.at("/"));
        INFO(report.log);
        CHECK(report.success);
        CHECK(target.requests == 1);
        // The module's own tls_config does not apply to the token request, nor the reverse.
        report = h.run("untrusted", target.at("/"));
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.detail.find("oauth2: cannot fetch token") != std::string::npos);
        CHECK(target.requests == 1);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("http oauth2: a token endpoint that never answers ends at the deadline",
          "[integration][http]") {
    test::ProbeHarness h;
    {
        // Accepts and reads, never answers: the runner destroys the session mid-fetch.
        test::ScriptedTcpServer silent(
            h.loop(), {}, [](test::ScriptedTcpServer::Connection&, std::string_view) {});
        Target target(h.loop());
        h.load(std::string("modules:\n") +
               oauth2_module("oauth", "http://" + silent.address() + "/token", kSecretLines));
        const auto report = h.run("oauth", target.at("/"), 0.3);
        INFO(report.log);
        CHECK_FALSE(report.success);
        CHECK(report.failure == modules::FailureKind::Timeout);
        CHECK(target.requests == 0);
    }
    REQUIRE(h.close() == 0);
}

}  // namespace
}  // namespace sonde

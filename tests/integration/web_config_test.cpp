// --web.config.file: TLS, basic auth and headers on sonde's own endpoints. The first part drives
// HttpServer and WebGate on a test loop (handshake limits, ownership mid-flight, the bcrypt
// cache); the second runs the sonde binary against curl and a real Prometheus.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "prober/app/web_auth.hpp"
#include "prober/net/http_server.hpp"
#include "prober/net/tls_channel.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/loop_fixture.hpp"
#include "tests/support/prometheus_server.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using test::LoopFixture;
using test::RawHttpClient;

// bcrypt hashes (cost 4, so the tests stay fast) of "s3cret" and "other".
constexpr const char* kS3cret = "$2b$04$7P0azPvrDI7QDOcdqpfCku.uP9iwlIH7wO1.fgj0xquLOOVmG6xHu";
constexpr const char* kOther = "$2b$04$eWh13VkDs2GtsOET3JUU4OjPRAKlzlq7MdlPvDOBgFVkmQ.ctY4AK";
// "Authorization: Basic" values.
constexpr const char* kAliceS3cret = "Basic YWxpY2U6czNjcmV0";  // alice:s3cret
constexpr const char* kAliceWrong = "Basic YWxpY2U6d3Jvbmc=";   // alice:wrong
constexpr const char* kBobOther = "Basic Ym9iOm90aGVy";         // bob:other
constexpr const char* kMalloryX = "Basic bWFsbG9yeTp4";         // mallory:x

// A TLS client on the loop: connects to 127.0.0.1:port, completes the handshake, sends
// `request` and collects the plaintext until the server ends the stream.
class TlsTestClient {
public:
    TlsTestClient(Loop& loop, std::shared_ptr<const net::TlsClientContext> context)
        : stream_(loop), context_(std::move(context)) {}

    void connect(std::uint16_t port, std::string request) {
        request_ = std::move(request);
        auto started = stream_.connect(*net::IpAddress::parse("127.0.0.1"), port, nullptr,
                                       [this](int status, std::uint64_t) { on_connected(status); });
        REQUIRE(started);
    }
    bool done() const { return done_; }
    bool handshake_ok() const { return handshake_ok_; }
    const std::string& reply() const { return reply_; }
    const std::string& error() const { return error_; }
    void close() {
        channel_.reset();
        stream_.close();
    }

private:
    void on_connected(int status) {
        if (status != 0) {
            error_ = "connect failed";
            done_ = true;
            return;
        }
        auto session = net::TlsSession::client(context_, "127.0.0.1");
        if (!session) {  // no REQUIRE here: this runs inside a noexcept libuv callback
            error_ = session.error();
            done_ = true;
            return;
        }
        channel_ = std::make_unique<net::TlsChannel>(stream_, std::move(*session));
        channel_->start(
            [this](bool ok, std::uint64_t) {
                handshake_ok_ = ok;
                if (!ok) {
                    error_ = channel_->error();
                    done_ = true;
                    return;
                }
                channel_->write(request_);
            },
            [this](std::string_view data) { reply_.append(data); },
            [this](const std::string& error) {
                error_ = error;
                done_ = true;
            });
    }

    net::TcpStream stream_;
    std::shared_ptr<const net::TlsClientContext> context_;
    std::unique_ptr<net::TlsChannel> channel_;  // after stream_: destroyed first
    std::string request_;
    std::string reply_;
    std::string error_;
    bool handshake_ok_ = false;
    bool done_ = false;
};

// A gate with a fixed TLS context that lets every request through and adds one header.
class FixedGate : public net::HttpServerGate {
public:
    explicit FixedGate(std::shared_ptr<const net::TlsServerContext> tls) : tls_(std::move(tls)) {}
    std::shared_ptr<const net::TlsServerContext> tls_context() override { return tls_; }
    void admit(const net::HttpRequest& request, net::HttpResponder responder,
               const net::HttpHandler& pass) override {
        pass(request, std::move(responder));
    }
    void add_headers(net::HttpHeaders& headers) override { headers.add("X-Frame-Options", "deny"); }

private:
    std::shared_ptr<const net::TlsServerContext> tls_;
};

net::HttpHandler ok_handler() {
    return [](const net::HttpRequest& request, net::HttpResponder responder) {
        responder.respond(net::HttpResponse::text(200, "hello " + request.path));
    };
}

std::shared_ptr<const net::TlsClientContext> client_context(const test::TestCert& ca) {
    config::TlsConfig config;
    config.ca = ca.cert_pem;
    auto context = net::make_tls_client_context(config);
    REQUIRE(context);
    return *context;
}

std::string close_request(const std::string& path, const std::string& authorization = {}) {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!authorization.empty()) {
        request += "Authorization: " + authorization + "\r\n";
    }
    return request + "\r\n";
}

struct Served {
    test::TestCert ca = test::make_ca("Web Test CA");
    test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
};

TEST_CASE("the server speaks TLS through its gate and adds the gate's headers",
          "[integration][webconfig]") {
    LoopFixture fx;
    Served certs;
    auto tls = net::make_tls_server_context(certs.leaf.cert_pem, certs.leaf.key_pem);
    REQUIRE(tls);
    auto server = std::make_unique<net::HttpServer>(fx.loop(), ok_handler());
    server->set_gate(std::make_shared<FixedGate>(*tls));
    REQUIRE(server->listen("127.0.0.1:0"));

    TlsTestClient client(fx.loop(), client_context(certs.ca));
    client.connect(server->bound_port(), close_request("/metrics"));
    REQUIRE(fx.run_until([&] { return client.done(); }));
    CHECK(client.handshake_ok());
    CHECK(client.error().empty());
    CHECK(client.reply().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(client.reply().find("X-Frame-Options: deny\r\n") != std::string::npos);
    CHECK(client.reply().find("hello /metrics") != std::string::npos);
    CHECK(server->stats().tls_handshake_failures == 0);

    client.close();
    server.reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("plain HTTP on a TLS connection fails the handshake and is counted",
          "[integration][webconfig]") {
    LoopFixture fx;
    Served certs;
    auto tls = net::make_tls_server_context(certs.leaf.cert_pem, certs.leaf.key_pem);
    REQUIRE(tls);
    int handled = 0;
    auto server = std::make_unique<net::HttpServer>(
        fx.loop(), [&handled](const net::HttpRequest&, net::HttpResponder responder) {
            ++handled;
            responder.respond(net::HttpResponse::text(200, "no"));
        });
    server->set_gate(std::make_shared<FixedGate>(*tls));
    REQUIRE(server->listen("127.0.0.1:0"));

    RawHttpClient client(fx.loop());
    client.connect(server->bound_port(), test::get_request("/metrics"));
    REQUIRE(fx.run_until([&] { return client.ended(); }));
    CHECK(client.received().find("HTTP/1.1") == std::string::npos);
    CHECK(handled == 0);
    CHECK(server->stats().tls_handshake_failures == 1);

    client.close();
    server.reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a client that never finishes the TLS handshake is cut off by its timeout",
          "[integration][webconfig]") {
    LoopFixture fx;
    Served certs;
    auto tls = net::make_tls_server_context(certs.leaf.cert_pem, certs.leaf.key_pem);
    REQUIRE(tls);
    net::HttpServerLimits limits;
    limits.tls_handshake_timeout_ms = 50;  // the header timeout (15 s) would outlast the test
    auto server = std::make_unique<net::HttpServer>(fx.loop(), ok_handler(), limits);
    server->set_gate(std::make_shared<FixedGate>(*tls));
    REQUIRE(server->listen("127.0.0.1:0"));

    RawHttpClient silent(fx.loop());
    silent.connect(server->bound_port());  // connects and says nothing
    REQUIRE(fx.run_until([&] { return silent.ended(); }));
    CHECK(server->stats().timeouts == 1);
    CHECK(server->connection_count() == 0);

    silent.close();
    server.reset();
    REQUIRE(fx.close() == 0);
}

TEST_CASE("destroying the server mid-handshake is safe", "[integration][webconfig]") {
    LoopFixture fx;
    Served certs;
    auto tls = net::make_tls_server_context(certs.leaf.cert_pem, certs.leaf.key_pem);
    REQUIRE(tls);
    auto server = std::make_unique<net::HttpServer>(fx.loop(), ok_handler());
    server->set_gate(std::make_shared<FixedGate>(*tls));
    REQUIRE(server->listen("127.0.0.1:0"));

    // The ClientHello arrives, the server answers and waits for the client's Finished: at
    // that point the server goes away.
    TlsTestClient client(fx.loop(), client_context(certs.ca));
    client.connect(server->bound_port(), close_request("/"));
    REQUIRE(fx.run_until([&] { return server->stats().connections_accepted == 1; }));
    server.reset();
    REQUIRE(fx.run_until([&] { return client.done(); }));
    CHECK(client.reply().find("HTTP/1.1 200") == std::string::npos);

    client.close();
    REQUIRE(fx.close() == 0);
}

// ---- WebGate on a test loop ----

struct GateRig {
    explicit GateRig(LoopFixture& fx, const std::string& web_yml) {
        path = dir.write("web.yml", web_yml);
        auto created = app::WebGate::create(fx.loop(), logger, path);
        REQUIRE(created);
        gate = *created;
        server = std::make_unique<net::HttpServer>(fx.loop(), ok_handler());
        server->set_gate(gate);
        REQUIRE(server->listen("127.0.0.1:0"));
    }
    // One request on a fresh plain connection; the response.
    test::RawResponse get(LoopFixture& fx, const std::string& authorization) {
        RawHttpClient client(fx.loop());
        client.connect(server->bound_port(), close_request("/probe", authorization));
        REQUIRE(fx.run_until([&] { return client.responses().size() == 1; }));
        auto response = client.responses()[0];
        client.close();
        return response;
    }

    test::TempDir dir;
    std::string path;
    std::FILE* devnull = std::fopen("/dev/null", "w");
    Logger logger{LogLevel::Error, false, devnull};
    std::shared_ptr<app::WebGate> gate;
    std::unique_ptr<net::HttpServer> server;

    ~GateRig() { std::fclose(devnull); }
};

std::string users_yml(const std::string& extra = {}) {
    return std::string("basic_auth_users:\n  alice: ") + kS3cret + "\n" + extra;
}

TEST_CASE("basic auth answers 401 with WWW-Authenticate, and pays bcrypt once per password",
          "[integration][webconfig]") {
    LoopFixture fx;
    {
        GateRig rig(fx, users_yml("http_server_config:\n  headers:\n    X-Frame-Options: deny\n"));

        auto response = rig.get(fx, "");
        CHECK(response.status == 401);
        REQUIRE(response.headers.find("www-authenticate") != nullptr);
        CHECK(*response.headers.find("www-authenticate") == "Basic");
        CHECK(response.body == "Unauthorized\n");
        // The configured headers are on every response, refusals included.
        REQUIRE(response.headers.find("x-frame-options") != nullptr);
        CHECK(*response.headers.find("x-frame-options") == "deny");
        CHECK(rig.gate->bcrypt_runs() == 0);  // nothing to check without credentials

        CHECK(rig.get(fx, kAliceWrong).status == 401);
        CHECK(rig.gate->bcrypt_runs() == 1);
        response = rig.get(fx, kAliceS3cret);
        CHECK(response.status == 200);
        CHECK(response.body == "hello /probe");
        REQUIRE(response.headers.find("x-frame-options") != nullptr);
        CHECK(rig.gate->bcrypt_runs() == 2);
        // Known outcomes come from the cache, good and bad alike.
        CHECK(rig.get(fx, kAliceS3cret).status == 200);
        CHECK(rig.get(fx, kAliceWrong).status == 401);
        CHECK(rig.gate->bcrypt_runs() == 2);
        // An unknown user is checked too (against a fixed hash), and refused.
        CHECK(rig.get(fx, kMalloryX).status == 401);
        CHECK(rig.gate->bcrypt_runs() == 3);
        CHECK(rig.get(fx, "Basic !!!").status == 401);
        CHECK(rig.get(fx, "Bearer abc").status == 401);
        CHECK(rig.gate->bcrypt_runs() == 3);
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("a changed web config applies to the next request; a broken one keeps the last good",
          "[integration][webconfig]") {
    LoopFixture fx;
    {
        GateRig rig(fx, users_yml());
        CHECK(rig.get(fx, kAliceS3cret).status == 200);
        CHECK(rig.get(fx, kBobOther).status == 401);

        rig.dir.write("web.yml", std::string("basic_auth_users:\n  bob: ") + kOther + "\n");
        CHECK(rig.get(fx, kBobOther).status == 200);
        CHECK(rig.get(fx, kAliceS3cret).status == 401);
        CHECK(rig.gate->reloads() == 1);

        rig.dir.write("web.yml", "basic_auth_users:\n  bob: [not, a, hash]\n");
        CHECK(rig.get(fx, kBobOther).status == 200);
        CHECK(rig.get(fx, kAliceS3cret).status == 401);
        CHECK(rig.gate->reload_failures() == 1);  // logged once, not per request

        // Emptied: authentication is off.
        rig.dir.write("web.yml", "");
        CHECK(rig.get(fx, "").status == 200);
        CHECK(rig.gate->reloads() == 2);
    }
    REQUIRE(fx.close() == 0);
}

TEST_CASE("requests whose client or server goes away during a password check get no answer",
          "[integration][webconfig]") {
    LoopFixture fx;
    {
        GateRig rig(fx, users_yml());
        // The check is handed to the thread pool while the request is parsed; its result
        // comes back on a later loop iteration, so the first iteration after the request
        // always finds it in flight.
        RawHttpClient gone(fx.loop());
        gone.connect(rig.server->bound_port(), close_request("/", kAliceS3cret));
        REQUIRE(fx.run_until([&] { return rig.gate->checks_in_flight() == 1; }));
        gone.close();
        REQUIRE(fx.run_until([&] { return rig.gate->checks_in_flight() == 0; }));
        CHECK(rig.gate->bcrypt_runs() == 1);
        // The outcome was remembered although nobody was left to hear it.
        CHECK(rig.get(fx, kAliceS3cret).status == 200);
        CHECK(rig.gate->bcrypt_runs() == 1);

        // Now the server itself goes while a check runs.
        RawHttpClient orphan(fx.loop());
        orphan.connect(rig.server->bound_port(), close_request("/", kAliceWrong));
        REQUIRE(fx.run_until([&] { return rig.gate->checks_in_flight() == 1; }));
        rig.server.reset();
        REQUIRE(fx.run_until([&] { return rig.gate->checks_in_flight() == 0 && orphan.ended(); }));
        CHECK(orphan.responses().empty());
        orphan.close();
    }
    REQUIRE(fx.close() == 0);
}

// ---- the sonde binary ----

struct CurlResult {
    int exit_code = -1;
    std::string output;  // headers (-i) and body, or curl's error
    bool status(int code) const {
        return output.rfind("HTTP/1.1 " + std::to_string(code) + " ", 0) == 0;
    }
};

CurlResult curl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-i", "--max-time", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = test::run_command(argv);
    return {result.exit_code, result.output};
}

test::CertSpec named_spec(const std::string& common_name) {
    test::CertSpec spec;
    spec.subject = {{"CN", common_name}};
    return spec;
}

struct WebFiles {
    Served certs;
    test::TestCert client_ca = test::make_ca("Client CA");
    test::TestCert client = test::make_signed(named_spec("prometheus"), client_ca);
    test::TestCert stranger = test::make_self_signed(named_spec("stranger"));
    test::TempDir dir;
    std::string ca = dir.write("ca.pem", certs.ca.cert_pem);
    std::string client_cert = dir.write("client.pem", client.cert_pem);
    std::string client_key = dir.write("client.key", client.key_pem);
    std::string stranger_cert = dir.write("stranger.pem", stranger.cert_pem);
    std::string stranger_key = dir.write("stranger.key", stranger.key_pem);

    WebFiles() {
        (void)dir.write("server.pem", certs.leaf.cert_pem);
        (void)dir.write("server.key", certs.leaf.key_pem);
        (void)dir.write("client_ca.pem", client_ca.cert_pem);
    }
    // A web config whose relative file names point into dir.
    std::string web(const std::string& yml) const { return dir.write("web.yml", yml); }
};

const std::string kTls = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";

std::string url(const test::SondeProcess& sonde, const std::string& path,
                const std::string& scheme = "https") {
    return scheme + "://127.0.0.1:" + std::to_string(sonde.port()) + path;
}

TEST_CASE("sonde serves every endpoint over TLS to the right user only",
          "[integration][webconfig]") {
    WebFiles files;
    const auto web = files.web(kTls + users_yml("http_server_config:\n  headers:\n"
                                                "    X-Content-Type-Options: nosniff\n"));
    test::SondeProcess sonde({"--web.config.file=" + web});
    CHECK(sonde.output().find("TLS is enabled.") != std::string::npos);

    for (const char* path : {"/metrics", "/-/healthy", "/", "/config", "/probe"}) {
        INFO(path);
        auto result = curl({"--cacert", files.ca, url(sonde, path)});
        CHECK(result.exit_code == 0);
        CHECK(result.status(401));
        CHECK(result.output.find("WWW-Authenticate: Basic\r\n") != std::string::npos);
        CHECK(result.output.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
        CHECK(curl({"--cacert", files.ca, "-u", "alice:wrong", url(sonde, path)}).status(401));
        CHECK(curl({"--cacert", files.ca, "-u", "mallory:s3cret", url(sonde, path)}).status(401));
    }
    auto ok = curl({"--cacert", files.ca, "-u", "alice:s3cret", url(sonde, "/metrics")});
    CHECK(ok.status(200));
    CHECK(ok.output.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
    CHECK(ok.output.find("blackbox_exporter_config_last_reload_successful 1") != std::string::npos);
    CHECK(curl({"--cacert", files.ca, "-u", "alice:s3cret", url(sonde, "/-/healthy")}).status(200));
    // A probe of sonde's own port, through the authenticated /probe.
    const std::string target = "127.0.0.1:" + std::to_string(sonde.port());
    auto probe = curl({"--cacert", files.ca, "-u", "alice:s3cret",
                       url(sonde, "/probe?module=tcp_connect&target=" + target)});
    CHECK(probe.status(200));
    CHECK(probe.output.find("probe_success 1") != std::string::npos);
    // Plain HTTP gets no HTTP answer from a TLS port.
    auto plain = curl({url(sonde, "/metrics", "http")});
    CHECK(plain.exit_code != 0);
    CHECK_FALSE(plain.status(200));
    // Nor does a client that does not trust the certificate.
    CHECK(curl({"-u", "alice:s3cret", url(sonde, "/metrics")}).exit_code != 0);
    // The password never reaches the log.
    CHECK(sonde.output().find("s3cret") == std::string::npos);
}

TEST_CASE("sonde with RequireAndVerifyClientCert refuses clients without a good certificate",
          "[integration][webconfig]") {
    WebFiles files;
    const auto web = files.web(kTls +
                               "  client_auth_type: RequireAndVerifyClientCert\n"
                               "  client_ca_file: client_ca.pem\n");
    test::SondeProcess sonde({"--web.config.file=" + web});

    auto none = curl({"--cacert", files.ca, url(sonde, "/metrics")});
    CHECK(none.exit_code != 0);
    CHECK_FALSE(none.status(200));
    auto stranger = curl({"--cacert", files.ca, "--cert", files.stranger_cert, "--key",
                          files.stranger_key, url(sonde, "/metrics")});
    CHECK(stranger.exit_code != 0);
    CHECK_FALSE(stranger.status(200));
    auto good = curl({"--cacert", files.ca, "--cert", files.client_cert, "--key", files.client_key,
                      url(sonde, "/metrics")});
    CHECK(good.exit_code == 0);
    CHECK(good.status(200));
}

TEST_CASE("sonde with VerifyClientCertIfGiven takes no certificate or a good one",
          "[integration][webconfig]") {
    WebFiles files;
    const auto web = files.web(kTls +
                               "  client_auth_type: VerifyClientCertIfGiven\n"
                               "  client_ca_file: client_ca.pem\n");
    test::SondeProcess sonde({"--web.config.file=" + web});
    CHECK(curl({"--cacert", files.ca, url(sonde, "/metrics")}).status(200));
    CHECK(curl({"--cacert", files.ca, "--cert", files.client_cert, "--key", files.client_key,
                url(sonde, "/metrics")})
              .status(200));
    CHECK(curl({"--cacert", files.ca, "--cert", files.stranger_cert, "--key", files.stranger_key,
                url(sonde, "/metrics")})
              .exit_code != 0);
}

TEST_CASE("sonde enforces the web config's min_version", "[integration][webconfig]") {
    WebFiles files;
    const auto web = files.web(kTls + "  min_version: TLS13\n");
    test::SondeProcess sonde({"--web.config.file=" + web});
    auto old = curl({"--cacert", files.ca, "--tls-max", "1.2", url(sonde, "/metrics")});
    CHECK(old.exit_code != 0);
    CHECK_FALSE(old.status(200));
    CHECK(curl({"--cacert", files.ca, "--tlsv1.3", url(sonde, "/metrics")}).status(200));
}

TEST_CASE("sonde picks up a changed web config at once and keeps the last good one",
          "[integration][webconfig]") {
    WebFiles files;
    const auto web = files.web(kTls + users_yml());
    test::SondeProcess sonde({"--web.config.file=" + web});
    const std::vector<std::string> tls = {"--cacert", files.ca};
    auto as = [&](const std::string& credentials) {
        auto args = tls;
        args.insert(args.end(), {"-u", credentials, url(sonde, "/metrics")});
        return curl(args);
    };
    CHECK(as("alice:s3cret").status(200));
    CHECK(as("bob:other").status(401));

    files.web(kTls + "basic_auth_users:\n  bob: " + kOther + "\n");
    CHECK(as("bob:other").status(200));
    CHECK(as("alice:s3cret").status(401));

    // Broken: logged with its position, and bob still gets in. SIGHUP changes nothing.
    files.web(kTls + "basic_auth_users:\n  bob: " + kOther + "\n  typo_key\n");
    CHECK(as("bob:other").status(200));
    sonde.signal(SIGHUP);
    CHECK(as("bob:other").status(200));
    CHECK(sonde.output().find("Error reloading web config") != std::string::npos);
    CHECK(sonde.output().find("web.yml:") != std::string::npos);

    // Turning TLS off needs a restart: refused, TLS stays.
    files.web(users_yml());
    CHECK(as("alice:s3cret").status(401));
    CHECK(as("bob:other").status(200));
    CHECK(sonde.output().find("TLS cannot be turned off without a restart") != std::string::npos);
}

TEST_CASE("sonde refuses to start on a bad web config, saying where and why",
          "[integration][webconfig]") {
    WebFiles files;
    struct Row {
        std::string yml;
        std::string message;
    };
    const std::vector<Row> rows = {
        {kTls + "  client_auth_type: Always\n", "web.yml:4:21: invalid ClientAuth: Always"},
        {"basic_auth_users:\n  alice: s3cret\n",
         "web.yml:2:10: the password of user"},  // the log escapes the quotes
        {"tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key\n",
         "failed to read cert_file (" + files.dir.path() + "/missing.pem)"},
        {"tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n", "server.pem"},
    };
    for (const auto& row : rows) {
        INFO(row.yml);
        const auto web = files.web(row.yml);
        const auto result = test::run_command(
            {SONDE_BINARY, "--web.config.file=" + web, "--web.listen-address=127.0.0.1:0"});
        CHECK(result.exit_code == 1);
        CHECK(result.output.find("error loading web config") != std::string::npos);
        CHECK(result.output.find(row.message) != std::string::npos);
        CHECK(result.output.find("s3cret") == std::string::npos);
    }
    const auto missing = test::run_command(
        {SONDE_BINARY, "--web.config.file=/nonexistent.yml", "--web.listen-address=127.0.0.1:0"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.output.find("/nonexistent.yml: cannot open") != std::string::npos);
}

TEST_CASE("Prometheus scrapes sonde over TLS with basic auth", "[integration][webconfig]") {
    WebFiles files;
    const auto web = files.web(kTls + users_yml());
    test::SondeProcess sonde({"--web.config.file=" + web});
    const std::string address = "127.0.0.1:" + std::to_string(sonde.port());
    const std::string prometheus_yaml =
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        "  - job_name: sonde\n    scheme: https\n"
        "    tls_config:\n      ca_file: " +
        files.ca +
        "\n"
        "    basic_auth:\n      username: alice\n      password: s3cret\n"
        "    static_configs:\n      - targets: ['" +
        address +
        "']\n"
        "  - job_name: intruder\n    scheme: https\n"
        "    tls_config:\n      ca_file: " +
        files.ca +
        "\n"
        "    basic_auth:\n      username: alice\n      password: guess\n"
        "    static_configs:\n      - targets: ['" +
        address + "']\n";
    test::PrometheusServer prometheus(prometheus_yaml);

    // Polls until both jobs were scraped (Prometheus scrapes every second), for at most 20 s.
    std::optional<double> sonde_up;
    std::optional<double> intruder_up;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
        sonde_up.reset();
        intruder_up.reset();
        for (const auto& sample : prometheus.query("up")) {
            const auto job = sample.labels.at("job");
            (job == "sonde" ? sonde_up : intruder_up) = sample.value;
        }
        if (sonde_up == 1.0 && intruder_up.has_value()) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(sonde_up == 1.0);
    CHECK(intruder_up == 0.0);
    CHECK_FALSE(prometheus.query("blackbox_exporter_config_last_reload_successful").empty());
}

}  // namespace
}  // namespace sonde

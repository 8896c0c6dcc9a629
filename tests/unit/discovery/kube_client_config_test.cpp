// In-cluster and kubeconfig client configuration, with files in a temporary directory and an
// injected environment.

#include "discovery/kubernetes/kube_client_config.hpp"

#include <map>

#include <catch2/catch.hpp>

#include "discovery/kubernetes/token_source.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sonde::discovery::kubernetes;
using sonde::test::TempDir;

InClusterEnvironment environment(const TempDir& dir, std::map<std::string, std::string> vars) {
    InClusterEnvironment env;
    env.root = dir.path();
    auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
    env.getenv = [shared](const char* name) -> const char* {
        const auto it = shared->find(name);
        return it == shared->end() ? nullptr : it->second.c_str();
    };
    return env;
}

const std::map<std::string, std::string> kServiceEnv = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                                        {"KUBERNETES_SERVICE_PORT", "443"}};

// "-----BEGIN CERTIFICATE-----\nCA\n" in base64.
constexpr const char* kCaData = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg==";
constexpr const char* kCaPem = "-----BEGIN CERTIFICATE-----\nCA\n";

std::string kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& context_extra = "") {
    return "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
           "contexts:\n- name: other\n  context: {cluster: x, user: y}\n"
           "- name: prod\n  context:\n    cluster: c1\n    user: u1\n" +
           context_extra + "clusters:\n- name: c1\n  cluster:\n" + cluster +
           "users:\n- name: u1\n  user:\n" + user;
}

}  // namespace

TEST_CASE("in-cluster configuration", "[unit][kube]") {
    TempDir dir;
    dir.write("token", "  eyJtoken\n");
    dir.write("ca.crt", "PEM");
    dir.write("namespace", "monitoring\n");
    SECTION("env and files") {
        auto config = in_cluster_config(environment(dir, kServiceEnv));
        REQUIRE(config);
        CHECK(config->scheme == "https");
        CHECK(config->host == "10.96.0.1");
        CHECK(config->port == 443);
        CHECK(config->authority() == "10.96.0.1:443");
        CHECK(config->token_file == dir.path() + "/token");
        CHECK(config->tls.ca_file == dir.path() + "/ca.crt");
        CHECK(config->default_namespace == "monitoring");
        CHECK(config->source == "in-cluster");
    }
    SECTION("IPv6 service host") {
        auto config = in_cluster_config(environment(
            dir, {{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}}));
        REQUIRE(config);
        CHECK(config->host == "fd00::1");
        CHECK(config->port == 6443);
        CHECK(config->authority() == "[fd00::1]:6443");
    }
    SECTION("not in a cluster") {
        auto config = in_cluster_config(environment(dir, {{"KUBERNETES_SERVICE_HOST", "x"}}));
        REQUIRE_FALSE(config);
        CHECK(config.error() ==
              "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
              "must be set (or give discovery.kubernetes.kubeconfig)");
    }
    SECTION("bad port") {
        auto config = in_cluster_config(environment(
            dir, {{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "http"}}));
        REQUIRE_FALSE(config);
        CHECK(config.error().find("in-cluster: server") == 0);
    }
    SECTION("no token file") {
        InClusterEnvironment env = environment(dir, kServiceEnv);
        env.root = dir.path() + "/nosuch";
        auto config = in_cluster_config(env);
        REQUIRE_FALSE(config);
        CHECK(config.error() == "in-cluster: service account token: cannot open " + dir.path() +
                                    "/nosuch/token: No such file or directory");
    }
    SECTION("empty token") {
        dir.write("token", "\n");
        auto config = in_cluster_config(environment(dir, kServiceEnv));
        REQUIRE_FALSE(config);
        CHECK(config.error() ==
              "in-cluster: service account token " + dir.path() + "/token is empty");
    }
}

TEST_CASE("kubeconfig: current context, relative paths, data fields", "[unit][kube]") {
    SECTION("token, CA file relative to the kubeconfig's directory, context namespace") {
        auto config = kubeconfig_from_text(
            kubeconfig("    server: https://203.0.113.5:6443\n    certificate-authority: ca.crt\n"
                       "    tls-server-name: kubernetes.default.svc\n",
                       "    token: abc123\n", "    namespace: monitoring\n"),
            "/etc/kube", "/etc/kube/config");
        REQUIRE(config);
        CHECK(config->host == "203.0.113.5");
        CHECK(config->port == 6443);
        CHECK(config->tls.ca_file == "/etc/kube/ca.crt");
        CHECK(config->tls.server_name == "kubernetes.default.svc");
        CHECK(config->token == "abc123");
        CHECK(config->token_file.empty());
        CHECK(config->default_namespace == "monitoring");
        CHECK(config->source == "/etc/kube/config");
    }
    SECTION("data fields win over paths; client certificate; tokenFile") {
        auto config = kubeconfig_from_text(
            kubeconfig(std::string("    server: https://kube.example:443\n"
                                   "    certificate-authority: ignored.crt\n"
                                   "    certificate-authority-data: ") +
                           kCaData + "\n",
                       std::string("    client-certificate-data: ") + kCaData +
                           "\n    client-key: /abs/key.pem\n    tokenFile: token\n"),
            "/d", "/d/config");
        REQUIRE(config);
        CHECK(config->host == "kube.example");
        CHECK(config->tls.ca == kCaPem);
        CHECK(config->tls.ca_file.empty());
        CHECK(config->tls.cert == kCaPem);
        CHECK(config->tls.key_file == "/abs/key.pem");
        CHECK(config->token_file == "/d/token");
    }
    SECTION("insecure-skip-tls-verify, default https port, IPv6") {
        auto config = kubeconfig_from_text(
            kubeconfig("    server: https://[::1]\n    insecure-skip-tls-verify: true\n",
                       "    {}\n"),
            ".", "k");
        REQUIRE(config);
        CHECK(config->host == "::1");
        CHECK(config->port == 443);
        CHECK(config->tls.insecure_skip_verify);
    }
}

TEST_CASE("bad kubeconfigs give a clear message", "[unit][kube]") {
    const auto [text, message] = GENERATE(table<std::string, std::string>({
        {"[1, 2]", "kubeconfig k: not a YAML mapping"},
        {"clusters: []\n", "kubeconfig k: current-context is not set"},
        {"current-context: nosuch\ncontexts: []\n", "kubeconfig k: context \"nosuch\" not found"},
        {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n",
         "kubeconfig k: cluster \"c\" (of context \"a\") not found"},
        {kubeconfig("    insecure-skip-tls-verify: true\n", "    {}\n"),
         "kubeconfig k: cluster \"c1\" has no server"},
        {kubeconfig("    server: ftp://h\n", "    {}\n"),
         "kubeconfig k: cluster \"c1\": server \"ftp://h\" is not an http or https URL"},
        {kubeconfig("    server: https://h:99999\n", "    {}\n"),
         "kubeconfig k: cluster \"c1\": server \"https://h:99999\" has an invalid port"},
        {kubeconfig("    server: https://h/prefix\n", "    {}\n"),
         "kubeconfig k: cluster \"c1\": server \"https://h/prefix\": a path is not supported"},
        {kubeconfig("    server: https://h\n    certificate-authority: ca\n"
                    "    insecure-skip-tls-verify: true\n",
                    "    {}\n"),
         "kubeconfig k: cluster \"c1\": specifying a root certificates file with the insecure "
         "flag is not allowed"},
        {kubeconfig("    server: https://h\n    certificate-authority-data: '***'\n", "    {}\n"),
         "kubeconfig k: cluster \"c1\": certificate-authority-data: illegal base64 data"},
        {kubeconfig("    server: https://h\n", "    exec: {command: aws}\n"),
         "kubeconfig k: user \"u1\": exec and auth-provider credential plugins are not "
         "supported; use token, tokenFile or client-certificate/client-key"},
        {kubeconfig("    server: https://h\n", "    username: a\n    password: b\n"),
         "kubeconfig k: user \"u1\": username/password authentication is not supported"},
        {kubeconfig("    server: https://h\n", "    client-certificate: c.pem\n"),
         "kubeconfig k: user \"u1\": client-certificate and client-key must be given together"},
        {"current-context: [\n", "kubeconfig k:2:1: end of sequence flow not found"},
    }));
    CAPTURE(text);
    auto config = kubeconfig_from_text(text, ".", "k");
    REQUIRE_FALSE(config);
    CHECK(config.error() == message);
}

TEST_CASE("load_kubeconfig names the missing file", "[unit][kube]") {
    auto config = load_kubeconfig("/nonexistent/kubeconfig");
    REQUIRE_FALSE(config);
    CHECK(config.error() ==
          "kubeconfig: cannot open /nonexistent/kubeconfig: No such file or "
          "directory");
}

TEST_CASE("base64 as kubeconfig data fields use it", "[unit][kube]") {
    CHECK(*base64_decode("") == "");
    CHECK(*base64_decode("YQ==") == "a");
    CHECK(*base64_decode("YWI=") == "ab");
    CHECK(*base64_decode("YWJj") == "abc");
    CHECK(*base64_decode("YWJj\nZGVm\n") == "abcdef");
    CHECK_FALSE(base64_decode("YQ"));
    CHECK_FALSE(base64_decode("Y==="));
    CHECK_FALSE(base64_decode("YQ==YQ=="));
    CHECK_FALSE(base64_decode("Y!=="));
}

TEST_CASE("token source: periodic re-read, re-read after 401, failures keep the token",
          "[unit][kube]") {
    using namespace std::chrono_literals;
    TempDir dir;
    const std::string path = dir.write("token", "one\n");
    TokenSource tokens("", path, 50s);
    CHECK(tokens.token(0ms) == "one");
    dir.write("token", "two");
    CHECK(tokens.token(49s) == "one");  // the copy is young enough
    CHECK(tokens.token(50s) == "two");
    dir.write("token", "three");
    tokens.invalidate();
    CHECK(tokens.token(51s) == "three");  // a 401 makes the next request re-read
    dir.write("token", "  \n");
    tokens.invalidate();
    CHECK(tokens.token(52s) == "three");
    CHECK(tokens.last_error() == "token file " + path + " is empty");
    std::remove(path.c_str());
    CHECK(tokens.token(200s) == "three");
    CHECK(tokens.last_error() == "cannot open " + path + ": No such file or directory");
    CHECK(tokens.reads() == 3);

    TokenSource fixed("static", "");
    CHECK(fixed.token(0ms) == "static");
    fixed.invalidate();
    CHECK(fixed.token(1ms) == "static");
    CHECK_FALSE(fixed.from_file());
}

// Fidelity of the fake Kubernetes API server: the real kubectl, given a kubeconfig naming the
// fake (https, its CA, its token), lists, gets, watches and sees the 410 Status on an expired
// resourceVersion. What kubectl accepts here, a Go client (and sonde's discovery tested
// against the fake) meets in a real cluster.
//
// kubectl is whatever `kubectl` the PATH finds: on these machines /usr/bin/kubectl is a
// dispatcher that asks /version first and runs a kubectl of the server's minor version; on a
// fresh Debian it is the kubernetes-client package (1.20). Without any kubectl the tests are
// skipped, unless CI is set, where that is a failure.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <initializer_list>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "tests/support/fake_kube_api.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string find_kubectl() {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const auto colon = dirs.find(':', start);
        const std::string dir =
            dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        const std::string candidate = (dir.empty() ? "." : dir) + "/kubectl";
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        if (colon == std::string::npos) {
            break;
        }
        start = colon + 1;
    }
    return {};
}

// Returns the kubectl to use, or "" when the test should be skipped (and says why).
std::string kubectl_or_skip() {
    std::string kubectl = find_kubectl();
    if (kubectl.empty()) {
        if (std::getenv("CI") != nullptr) {
            FAIL("no kubectl on the PATH, and CI is set: install kubernetes-client");
        }
        WARN("skipped: no kubectl on the PATH (CI unset)");
    }
    return kubectl;
}

// One kubectl setup: a kubeconfig for the fake and a private HOME and discovery cache (kubectl
// caches discovery for hours; a shared cache would hide the fake's documents).
class Kubectl {
public:
    Kubectl(std::string binary, const FakeKubeApi& fake, const std::string& kubeconfig = {})
        : binary_(std::move(binary)) {
        kubeconfig_ = dir_.write("kubeconfig", kubeconfig.empty() ? fake.kubeconfig() : kubeconfig);
    }

    std::vector<std::string> argv(std::initializer_list<std::string> args) const {
        std::vector<std::string> out = {"/usr/bin/env",
                                        "HOME=" + dir_.path(),
                                        "KUBECONFIG=" + kubeconfig_,
                                        binary_,
                                        "--kubeconfig=" + kubeconfig_,
                                        "--cache-dir=" + dir_.path() + "/cache",
                                        "--request-timeout=10s"};
        out.insert(out.end(), args.begin(), args.end());
        return out;
    }

    CommandResult run(std::initializer_list<std::string> args, int timeout_ms = 20000) const {
        return run_command(argv(args), timeout_ms);
    }

private:
    std::string binary_;
    TempDir dir_;
    std::string kubeconfig_;
};

// True when some line of a kubectl table starts with these cells ("shop", "web").
bool has_row(const std::string& output, const std::vector<std::string>& cells) {
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        bool all = true;
        for (const auto& cell : cells) {
            std::string word;
            if (!(words >> word) || word != cell) {
                all = false;
                break;
            }
        }
        if (all) {
            return true;
        }
    }
    return false;
}

// The versioned kubectl binaries next to a dispatcher (kubectl.1.27 ... kubectl.1.33 here).
std::vector<std::string> versioned_siblings(const std::string& kubectl) {
    std::vector<std::string> out;
    std::error_code ec;
    const auto real = std::filesystem::canonical(kubectl, ec);
    if (ec) {
        return out;
    }
    for (const auto& entry : std::filesystem::directory_iterator(real.parent_path(), ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("kubectl.1.", 0) == 0 && ::access(entry.path().c_str(), X_OK) == 0) {
            out.push_back(entry.path().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

json kubectl_service(const std::string& ns, const std::string& name, json labels = json::object()) {
    return json{{"metadata", {{"namespace", ns}, {"name", name}, {"labels", std::move(labels)}}},
                {"spec",
                 {{"type", "ClusterIP"},
                  {"clusterIP", "127.0.3.4"},
                  {"ports", json::array({{{"name", "http"},
                                          {"port", 8080},
                                          {"protocol", "TCP"},
                                          {"targetPort", "web"}}})}}}};
}

json ingress(const std::string& ns, const std::string& name, const std::string& host) {
    return json{
        {"metadata", {{"namespace", ns}, {"name", name}}},
        {"spec",
         {{"ingressClassName", "nginx"},
          {"tls", json::array({{{"hosts", json::array({host})}}})},
          {"rules",
           json::array({{{"host", host},
                         {"http",
                          {{"paths", json::array({{{"path", "/"},
                                                   {"pathType", "Prefix"},
                                                   {"backend",
                                                    {{"service",
                                                      {{"name", "web"},
                                                       {"port", {{"number", 80}}}}}}}}})}}}}})}}}};
}

TEST_CASE("kubectl against the fake: get, get -o json, ingresses, selectors",
          "[integration][kubeapi][kubectl]") {
    const std::string binary = kubectl_or_skip();
    if (binary.empty()) {
        return;
    }
    FakeKubeApi fake;
    fake.put_service(kubectl_service("shop", "web", {{"app", "web"}}));
    fake.put_service(kubectl_service("shop", "cart", {{"app", "cart"}}));
    fake.put_service(kubectl_service("default", "api", {{"app", "api"}}));
    fake.put_ingress(ingress("shop", "storefront", "shop.example.test"));
    Kubectl kubectl(binary, fake);

    SECTION("get services -A lists every namespace, with the token and limit=500") {
        const auto result = kubectl.run({"get", "services", "-A"});
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
        CHECK(has_row(result.output, {"NAMESPACE", "NAME"}));
        CHECK(has_row(result.output, {"shop", "web"}));
        CHECK(has_row(result.output, {"shop", "cart"}));
        CHECK(has_row(result.output, {"default", "api"}));
        const auto list = fake.last_request(KubeKind::Service);
        CHECK(list.path == "/api/v1/services");
        CHECK(list.param("limit") == "500");
        CHECK(list.header("Authorization") == "Bearer " + fake.token());
        CHECK(fake.counts(KubeKind::Service).list == 1);
    }

    SECTION("get svc -n shop web -o json returns the stored object") {
        const auto result = kubectl.run({"get", "svc", "-n", "shop", "web", "-o", "json"});
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
        const json object = json::parse(result.output);
        CHECK(object.at("kind") == "Service");
        CHECK(object.at("apiVersion") == "v1");
        CHECK(object.at("metadata").at("name") == "web");
        CHECK(object.at("metadata").at("namespace") == "shop");
        CHECK(object.at("metadata").at("labels").at("app") == "web");
        CHECK(object.at("metadata").at("uid") ==
              fake.get_object(KubeKind::Service, "shop", "web")->at("metadata").at("uid"));
        CHECK(object.at("spec").at("ports").at(0).at("port") == 8080);
        CHECK(object.at("spec").at("ports").at(0).at("targetPort") == "web");
        CHECK(fake.last_request(KubeKind::Service).path == "/api/v1/namespaces/shop/services/web");
        CHECK(fake.counts(KubeKind::Service).get == 1);
    }

    SECTION("get ingresses -A") {
        const auto result = kubectl.run({"get", "ingresses", "-A"});
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
        CHECK(has_row(result.output, {"shop", "storefront"}));
        CHECK(fake.last_request(KubeKind::Ingress).path == "/apis/networking.k8s.io/v1/ingresses");
        const auto json_result = kubectl.run({"get", "ing", "-n", "shop", "-o", "json"});
        REQUIRE(json_result.exit_code == 0);
        const json list = json::parse(json_result.output);
        REQUIRE(list.at("items").size() == 1);
        CHECK(list.at("items").at(0).at("spec").at("rules").at(0).at("host") ==
              "shop.example.test");
    }

    SECTION("a label selector reaches the fake and filters") {
        const auto result = kubectl.run({"get", "svc", "-A", "-l", "app in (web,api)", "-o",
                                         "jsonpath={.items[*].metadata.name}"});
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
        CHECK(result.output == "api web");
        CHECK(fake.last_request(KubeKind::Service).param("labelSelector") == "app in (web,api)");
    }

    SECTION("a missing object is NotFound") {
        const auto result = kubectl.run({"get", "svc", "-n", "shop", "nope"});
        INFO(result.output);
        CHECK(result.exit_code == 1);
        CHECK(result.output.find("NotFound") != std::string::npos);
        CHECK(result.output.find("\"nope\" not found") != std::string::npos);
    }

    SECTION("a wrong token is Unauthorized") {
        fake.set_token("rotated-away");
        const auto result = kubectl.run({"get", "svc", "-A"});
        INFO(result.output);
        CHECK(result.exit_code == 1);
        // "(Unauthorized)" from kubectl 1.20, "(the server has asked for the client to provide
        // credentials)" from later ones.
        CHECK(result.output.find("You must be logged in to the server") != std::string::npos);
        CHECK(fake.unauthorized_count() >= 1);
    }
}

TEST_CASE("kubectl against the fake: every versioned kubectl next to the dispatcher",
          "[integration][kubeapi][kubectl]") {
    const std::string binary = kubectl_or_skip();
    if (binary.empty()) {
        return;
    }
    const auto versions = versioned_siblings(binary);
    if (versions.empty()) {
        WARN("no versioned kubectl next to " << binary << ": covered by the other tests");
        return;
    }
    FakeKubeApi fake;
    fake.put_service(kubectl_service("shop", "web"));
    fake.put_ingress(ingress("shop", "storefront", "shop.example.test"));
    for (const auto& version : versions) {
        INFO(version);
        // Each with its own cache, so that each runs discovery against the fake.
        Kubectl kubectl(version, fake);
        const auto table = kubectl.run({"get", "svc,ingress", "-A"});
        INFO(table.output);
        CHECK(table.exit_code == 0);
        CHECK(has_row(table.output, {"shop", "service/web"}));
        CHECK(has_row(table.output, {"shop", "ingress.networking.k8s.io/storefront"}));
        const auto object = kubectl.run({"get", "svc", "-n", "shop", "web", "-o", "json"});
        REQUIRE(object.exit_code == 0);
        CHECK(json::parse(object.output).at("metadata").at("name") == "web");
    }
}

TEST_CASE("kubectl against the fake: get -w sees a change", "[integration][kubeapi][kubectl]") {
    const std::string binary = kubectl_or_skip();
    if (binary.empty()) {
        return;
    }
    FakeKubeApi fake;
    fake.put_service(kubectl_service("default", "first"));
    Kubectl kubectl(binary, fake);

    // kubectl runs on another thread; this one makes the change once its watch is connected.
    auto watching = std::async(std::launch::async, [&] {
        return run_command_until(
            kubectl.argv({"get", "svc", "-w"}), 20000,
            [](const std::string& output) { return output.find("second") != std::string::npos; });
    });
    const bool connected = fake.wait_for_watches(1, 15s, KubeKind::Service);
    if (connected) {
        fake.put_service(kubectl_service("default", "second"));
    }
    const auto result = watching.get();
    INFO("kubectl output:\n" << result.output);
    REQUIRE(connected);
    CHECK(result.output.find("first") != std::string::npos);
    CHECK(result.output.find("second") != std::string::npos);
    // kubectl listed, then watched from the list's resourceVersion.
    const auto watch = fake.last_request(KubeKind::Service);
    CHECK(watch.path == "/api/v1/namespaces/default/services");
    CHECK((watch.param("watch") == "true" || watch.param("watch") == "1"));
    CHECK(watch.param("resourceVersion").value_or("") != "");
    CHECK(fake.counts(KubeKind::Service).list == 1);
    CHECK(fake.counts(KubeKind::Service).watch == 1);
}

TEST_CASE("kubectl against the fake: a compacted resourceVersion shows the 410 Status",
          "[integration][kubeapi][kubectl]") {
    const std::string binary = kubectl_or_skip();
    if (binary.empty()) {
        return;
    }
    FakeKubeApi fake;
    fake.put_service(kubectl_service("default", "a"));
    const std::string old = std::to_string(fake.resource_version());
    fake.put_service(kubectl_service("default", "b"));
    fake.compact();
    Kubectl kubectl(binary, fake);
    const std::string path = "/api/v1/services?watch=1&resourceVersion=" + old;

    SECTION("as the real server: 200 and an ERROR event holding the Status") {
        const auto result = kubectl.run({"get", "--raw", path});
        INFO(result.output);
        CHECK(result.exit_code == 0);
        const auto line_end = result.output.find('\n');
        const json event = json::parse(result.output.substr(0, line_end));
        CHECK(event.at("type") == "ERROR");
        CHECK(event.at("object").at("kind") == "Status");
        CHECK(event.at("object").at("code") == 410);
        CHECK(event.at("object").at("reason") == "Expired");
        CHECK(event.at("object").at("message").get<std::string>().rfind(
                  "too old resource version: " + old, 0) == 0);
    }

    SECTION("as a plain HTTP 410") {
        fake.set_expired_watch_as_http_410(true);
        const auto result = kubectl.run({"get", "--raw", path});
        INFO(result.output);
        CHECK(result.exit_code == 1);
        // kubectl 1.32: "Error from server (Expired): too old resource version: ..."; 1.20:
        // "the server responded with the status code 410 but did not return more information".
        CHECK((result.output.find("Expired") != std::string::npos ||
               result.output.find("410") != std::string::npos));
    }
}

}  // namespace
}  // namespace sonde::test

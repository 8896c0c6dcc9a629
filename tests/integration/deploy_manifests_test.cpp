// deploy/kubernetes renders with the real kubectl's kustomize (offline), every object is well
// formed, RBAC grants what discovery needs, and the ConfigMap's sonde.yml is a valid config.

#include <cstdlib>
#include <map>
#include <set>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde {
namespace {

const std::string kDeploy = std::string(SONDE_SOURCE_DIR) + "/deploy/kubernetes";

bool have_kubectl() {
    return test::run_command({"/bin/sh", "-c", "command -v kubectl"}).exit_code == 0;
}

}  // namespace

TEST_CASE("deploy/kubernetes renders with kustomize into well-formed objects",
          "[integration][deploy]") {
    if (!have_kubectl()) {
        if (std::getenv("CI") != nullptr) {
            FAIL("kubectl is missing (scripts/install-deps.sh --test installs it)");
        }
        WARN("no kubectl: skipped");
        return;
    }
    // stderr apart: kubectl may warn there, and only stdout is YAML.
    const auto rendered = test::run_command(
        {"/bin/sh", "-c", "kubectl kustomize '" + kDeploy + "' 2>/dev/null"}, 60000);
    INFO(rendered.output);
    REQUIRE(rendered.exit_code == 0);

    std::map<std::string, YAML::Node> by_kind;
    for (const YAML::Node& doc : YAML::LoadAll(rendered.output)) {
        REQUIRE(doc["apiVersion"].IsScalar());
        REQUIRE(doc["kind"].IsScalar());
        REQUIRE(doc["metadata"]["name"].IsScalar());
        by_kind[doc["kind"].as<std::string>()] = doc;
    }
    const std::set<std::string> kinds = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                         "ConfigMap",      "Deployment",  "Service"};
    for (const auto& kind : kinds) {
        INFO(kind);
        CHECK(by_kind.count(kind) == 1);
    }

    // Discovery lists and watches Services and Ingresses: the role must allow exactly that.
    std::set<std::string> granted;
    for (const YAML::Node& rule : by_kind["ClusterRole"]["rules"]) {
        for (const YAML::Node& resource : rule["resources"]) {
            for (const YAML::Node& verb : rule["verbs"]) {
                granted.insert(resource.as<std::string>() + ":" + verb.as<std::string>());
            }
        }
    }
    for (const char* needed :
         {"services:list", "services:watch", "ingresses:list", "ingresses:watch"}) {
        CHECK(granted.count(needed) == 1);
    }
    // The binding names the ServiceAccount in the namespace everything is deployed to.
    const YAML::Node subject = by_kind["ClusterRoleBinding"]["subjects"][0];
    CHECK(subject["name"].as<std::string>() ==
          by_kind["ServiceAccount"]["metadata"]["name"].as<std::string>());
    CHECK(subject["namespace"].as<std::string>() ==
          by_kind["ServiceAccount"]["metadata"]["namespace"].as<std::string>());
    CHECK(
        by_kind["Deployment"]["spec"]["template"]["spec"]["serviceAccountName"].as<std::string>() ==
        "sonde");

    // The ConfigMap's config is what the Deployment runs: it must load.
    test::TempDir dir;
    const std::string config =
        dir.write("sonde.yml", by_kind["ConfigMap"]["data"]["sonde.yml"].as<std::string>());
    const auto check =
        test::run_command({SONDE_BINARY, "--config.check", "--config.file=" + config});
    INFO(check.output);
    CHECK(check.exit_code == 0);
}

}  // namespace sonde

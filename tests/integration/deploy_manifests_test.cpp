// deploy/kubernetes and its variants render with the real kubectl's kustomize (offline), every
// object is well formed, RBAC grants what discovery needs, and each variant's pods would start:
// the image's entrypoint plus the container's args, with the ConfigMap's sonde.yml where the
// volume mounts it, pass `sonde --config.check`.

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "prober/app/shard.hpp"
#include "tests/support/source_tree.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde {
namespace {

const std::string kDeploy = test::kSourceDir + "deploy/kubernetes";

bool have_kubectl() {
    return test::run_command({"/bin/sh", "-c", "command -v kubectl"}).exit_code == 0;
}

// False (after a warning) when kubectl is missing and the test may be skipped; fails in CI.
bool kubectl_or_skip() {
    if (have_kubectl()) {
        return true;
    }
    if (std::getenv("CI") != nullptr) {
        FAIL("kubectl is missing (scripts/install-deps.sh --test installs it)");
    }
    WARN("no kubectl: skipped");
    return false;
}

// `kubectl kustomize dir`, split into its objects; each has apiVersion, kind and a name.
std::vector<YAML::Node> render(const std::string& dir) {
    // stderr apart: kubectl may warn there, and only stdout is YAML.
    const auto rendered =
        test::run_command({"/bin/sh", "-c", "kubectl kustomize '" + dir + "' 2>/dev/null"}, 60000);
    INFO(dir << ": " << rendered.output);
    REQUIRE(rendered.exit_code == 0);
    std::vector<YAML::Node> objects;
    for (const YAML::Node& doc : YAML::LoadAll(rendered.output)) {
        REQUIRE(doc["apiVersion"].IsScalar());
        REQUIRE(doc["kind"].IsScalar());
        REQUIRE(doc["metadata"]["name"].IsScalar());
        objects.push_back(doc);
    }
    return objects;
}

std::vector<YAML::Node> of_kind(const std::vector<YAML::Node>& objects, const std::string& kind) {
    std::vector<YAML::Node> found;
    for (const YAML::Node& object : objects) {
        if (object["kind"].as<std::string>() == kind) {
            found.push_back(object);
        }
    }
    return found;
}

YAML::Node one(const std::vector<YAML::Node>& objects, const std::string& kind) {
    const auto found = of_kind(objects, kind);
    INFO("objects of kind " << kind);
    REQUIRE(found.size() == 1);
    return found.front();
}

std::multiset<std::string> kinds_of(const std::vector<YAML::Node>& objects) {
    std::multiset<std::string> kinds;
    for (const YAML::Node& object : objects) {
        kinds.insert(object["kind"].as<std::string>());
    }
    return kinds;
}

std::string name_of(const YAML::Node& object) {
    return object["metadata"]["name"].as<std::string>();
}

std::string namespace_of(const YAML::Node& object) {
    return object["metadata"]["namespace"] ? object["metadata"]["namespace"].as<std::string>()
                                           : std::string();
}

std::vector<std::string> strings(const YAML::Node& list) {
    std::vector<std::string> out;
    for (const YAML::Node& item : list) {
        out.push_back(item.as<std::string>());
    }
    return out;
}

// "resource:verb" for every pair a Role or ClusterRole grants.
std::set<std::string> grants(const YAML::Node& role) {
    std::set<std::string> granted;
    for (const YAML::Node& rule : role["rules"]) {
        for (const YAML::Node& resource : rule["resources"]) {
            for (const YAML::Node& verb : rule["verbs"]) {
                granted.insert(resource.as<std::string>() + ":" + verb.as<std::string>());
            }
        }
    }
    return granted;
}

// Discovery lists and watches Services and Ingresses: the role must allow exactly that.
void check_grants_discovery(const YAML::Node& role) {
    const auto granted = grants(role);
    for (const char* needed : {"services:get", "services:list", "services:watch", "ingresses:get",
                               "ingresses:list", "ingresses:watch"}) {
        INFO(role["kind"] << " " << name_of(role) << " in \"" << namespace_of(role) << "\" grants "
                          << needed);
        CHECK(granted.count(needed) == 1);
    }
}

// The image's ENTRYPOINT (a JSON array in deploy/container/Containerfile).
std::vector<std::string> image_entrypoint() {
    const std::string containerfile =
        test::read_text_file(test::kSourceDir + "deploy/container/Containerfile");
    std::smatch match;
    REQUIRE(std::regex_search(containerfile, match, std::regex(R"(\nENTRYPOINT (\[.*\]))")));
    return nlohmann::json::parse(match[1].str()).get<std::vector<std::string>>();
}

// What the pod's only container runs: the image's entrypoint (or the container's command)
// and its args, with the sonde binary of this build and the ConfigMap's sonde.yml written
// where the volume would mount it. Returns the command line with --config.check added, after
// checking that --config.file names the file the ConfigMap volume provides.
std::vector<std::string> pod_command(const YAML::Node& pod_spec, const YAML::Node& config_map,
                                     const test::TempDir& dir) {
    REQUIRE(pod_spec["containers"].size() == 1);
    const YAML::Node container = pod_spec["containers"][0];
    std::vector<std::string> argv =
        container["command"] ? strings(container["command"]) : image_entrypoint();
    for (const auto& arg : strings(container["args"])) {
        argv.push_back(arg);
    }
    REQUIRE(argv.size() >= 2);
    argv[0] = SONDE_BINARY;

    // The volume holding the ConfigMap, and where the container mounts it.
    std::string volume_name;
    for (const YAML::Node& volume : pod_spec["volumes"]) {
        if (volume["configMap"] &&
            volume["configMap"]["name"].as<std::string>() == name_of(config_map)) {
            volume_name = volume["name"].as<std::string>();
        }
    }
    INFO("a volume holds ConfigMap " << name_of(config_map));
    REQUIRE(!volume_name.empty());
    std::string mount_path;
    for (const YAML::Node& mount : container["volumeMounts"]) {
        if (mount["name"].as<std::string>() == volume_name) {
            mount_path = mount["mountPath"].as<std::string>();
        }
    }
    REQUIRE(!mount_path.empty());

    // sonde takes the last --config.file: that one must be the mounted sonde.yml.
    std::size_t config_flag = argv.size();
    for (std::size_t i = 1; i < argv.size(); ++i) {
        if (argv[i].rfind("--config.file=", 0) == 0) {
            config_flag = i;
        }
    }
    REQUIRE(config_flag < argv.size());
    CHECK(argv[config_flag] == "--config.file=" + mount_path + "/sonde.yml");
    argv[config_flag] = "--config.file=" +
                        dir.write("sonde.yml", config_map["data"]["sonde.yml"].as<std::string>());
    argv.push_back("--config.check");
    return argv;
}

void check_starts(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& arg : argv) {
        line += arg + " ";
    }
    const auto check = test::run_command(argv);
    INFO(line << "\n" << check.output);
    CHECK(check.exit_code == 0);
}

// The binding gives the role to the ServiceAccount the pods run as.
void check_binding(const YAML::Node& binding, const YAML::Node& role,
                   const YAML::Node& service_account) {
    CHECK(binding["roleRef"]["kind"].as<std::string>() == role["kind"].as<std::string>());
    CHECK(binding["roleRef"]["name"].as<std::string>() == name_of(role));
    REQUIRE(binding["subjects"].size() == 1);
    const YAML::Node subject = binding["subjects"][0];
    CHECK(subject["kind"].as<std::string>() == "ServiceAccount");
    CHECK(subject["name"].as<std::string>() == name_of(service_account));
    CHECK(subject["namespace"].as<std::string>() == namespace_of(service_account));
}

// A workload's selector picks its own pods, and a Service's selector picks them too.
void check_selects(const YAML::Node& selector, const YAML::Node& pod_labels) {
    REQUIRE(selector.IsMap());
    REQUIRE(selector.size() > 0);
    for (const auto& pair : selector) {
        const std::string key = pair.first.as<std::string>();
        INFO("selector " << key);
        REQUIRE(pod_labels[key]);
        CHECK(pod_labels[key].as<std::string>() == pair.second.as<std::string>());
    }
}

}  // namespace

TEST_CASE("deploy/kubernetes renders with kustomize into well-formed objects",
          "[integration][deploy]") {
    if (!kubectl_or_skip()) {
        return;
    }
    const auto objects = render(kDeploy);
    CHECK(kinds_of(objects) == std::multiset<std::string>{"ServiceAccount", "ClusterRole",
                                                          "ClusterRoleBinding", "ConfigMap",
                                                          "Deployment", "Service"});
    const YAML::Node service_account = one(objects, "ServiceAccount");
    CHECK(namespace_of(service_account) == "monitoring");
    const YAML::Node role = one(objects, "ClusterRole");
    check_grants_discovery(role);
    check_binding(one(objects, "ClusterRoleBinding"), role, service_account);

    const YAML::Node deployment = one(objects, "Deployment");
    const YAML::Node pod = deployment["spec"]["template"];
    CHECK(pod["spec"]["serviceAccountName"].as<std::string>() == name_of(service_account));
    check_selects(deployment["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]);
    check_selects(one(objects, "Service")["spec"]["selector"], pod["metadata"]["labels"]);

    // The ConfigMap's config is what the Deployment runs: the pod's command line must start.
    test::TempDir dir;
    check_starts(pod_command(pod["spec"], one(objects, "ConfigMap"), dir));
}

TEST_CASE("deploy/kubernetes/sharded: a StatefulSet whose --shard.count equals its replicas",
          "[integration][deploy]") {
    if (!kubectl_or_skip()) {
        return;
    }
    const auto objects = render(kDeploy + "/sharded");
    CHECK(kinds_of(objects) == std::multiset<std::string>{"ServiceAccount", "ClusterRole",
                                                          "ClusterRoleBinding", "ConfigMap",
                                                          "StatefulSet", "Service", "Service"});
    const YAML::Node service_account = one(objects, "ServiceAccount");
    const YAML::Node role = one(objects, "ClusterRole");
    check_grants_discovery(role);
    check_binding(one(objects, "ClusterRoleBinding"), role, service_account);

    const YAML::Node set = one(objects, "StatefulSet");
    const YAML::Node pod = set["spec"]["template"];
    CHECK(pod["spec"]["serviceAccountName"].as<std::string>() == name_of(service_account));
    check_selects(set["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]);
    const auto replicas = set["spec"]["replicas"].as<unsigned>();
    CHECK(replicas >= 2);

    // The governing Service is headless and lists every replica; Prometheus scrapes each
    // through it (deploy/prometheus/scrape-sharded.yml names it).
    YAML::Node governing;
    bool found = false;
    for (const YAML::Node& service : of_kind(objects, "Service")) {
        check_selects(service["spec"]["selector"], pod["metadata"]["labels"]);
        if (name_of(service) == set["spec"]["serviceName"].as<std::string>()) {
            governing = service;
            found = true;
        }
    }
    REQUIRE(found);
    CHECK(governing["spec"]["clusterIP"].as<std::string>() == "None");
    const std::string scrape =
        test::read_text_file(test::kSourceDir + "deploy/prometheus/scrape-sharded.yml");
    CHECK(scrape.find(name_of(governing) + "." + namespace_of(governing) + ".svc") !=
          std::string::npos);

    // --shard.count equals replicas, and no --shard.index: each pod takes its ordinal.
    const auto args = strings(pod["spec"]["containers"][0]["args"]);
    std::optional<unsigned> count;
    for (const auto& arg : args) {
        CHECK(arg.rfind("--shard.index", 0) != 0);
        if (arg.rfind("--shard.count=", 0) == 0) {
            count = static_cast<unsigned>(std::stoul(arg.substr(14)));
        }
    }
    REQUIRE(count);
    CHECK(*count == replicas);
    // The pods' host names are <set>-0 .. <set>-(replicas-1): each resolves to its own shard.
    for (unsigned ordinal = 0; ordinal < replicas; ++ordinal) {
        const std::string hostname = name_of(set) + "-" + std::to_string(ordinal);
        const auto shard = app::resolve_shard(std::nullopt, *count, hostname);
        INFO(hostname << ": " << (shard ? "" : shard.error()));
        REQUIRE(shard);
        CHECK(shard->index == ordinal);
        CHECK(shard->count == replicas);
    }

    test::TempDir dir;
    check_starts(pod_command(pod["spec"], one(objects, "ConfigMap"), dir));
}

TEST_CASE("deploy/kubernetes/namespaced: Roles in the namespaces its discovery watches",
          "[integration][deploy]") {
    if (!kubectl_or_skip()) {
        return;
    }
    const auto objects = render(kDeploy + "/namespaced");
    for (const auto& kind : kinds_of(objects)) {
        INFO(kind);
        CHECK(kind.rfind("Cluster", 0) != 0);
    }
    const YAML::Node service_account = one(objects, "ServiceAccount");
    const YAML::Node config_map = one(objects, "ConfigMap");
    CHECK(name_of(config_map) == "sonde-config");
    const YAML::Node deployment = one(objects, "Deployment");
    const YAML::Node pod = deployment["spec"]["template"];
    CHECK(pod["spec"]["serviceAccountName"].as<std::string>() == name_of(service_account));

    // One Role per watched namespace, each bound to sonde's ServiceAccount.
    std::map<std::string, YAML::Node> roles;
    for (const YAML::Node& role : of_kind(objects, "Role")) {
        check_grants_discovery(role);
        CHECK(roles.emplace(namespace_of(role), role).second);
    }
    REQUIRE(roles.size() >= 1);
    std::set<std::string> bound;
    for (const YAML::Node& binding : of_kind(objects, "RoleBinding")) {
        const std::string ns = namespace_of(binding);
        INFO("RoleBinding in " << ns);
        REQUIRE(roles.count(ns) == 1);
        check_binding(binding, roles[ns], service_account);
        bound.insert(ns);
    }
    std::set<std::string> role_namespaces;
    for (const auto& [ns, role] : roles) {
        role_namespaces.insert(ns);
    }
    CHECK(bound == role_namespaces);

    // A Role cannot grant a cluster-wide list: discovery must ask for exactly these namespaces.
    const YAML::Node config = YAML::Load(config_map["data"]["sonde.yml"].as<std::string>());
    const YAML::Node watched = config["discovery"]["kubernetes"]["namespaces"];
    REQUIRE(watched.IsSequence());
    const auto names = strings(watched);
    CHECK(std::set<std::string>(names.begin(), names.end()) == role_namespaces);

    test::TempDir dir;
    check_starts(pod_command(pod["spec"], config_map, dir));
}

}  // namespace sonde

// deploy/prometheus and deploy/grafana: promtool accepts the scrape configs and the alert
// rules, the prometheus-operator Probe examples point at sonde's Service and a module it has,
// and every metric the rules and the dashboard use is one that sonde really exports (read off
// a running sonde, not a list).

#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/support/fake_kube_api.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/source_tree.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

const std::string kDir = test::kSourceDir + "deploy/prometheus/";
const std::string kDashboard = test::kSourceDir + "deploy/grafana/sonde-dashboard.json";

std::string metric_name(const std::string& sample) {
    return sample.substr(0, sample.find('{'));
}

bool is_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}

bool is_name_char(char c) {
    return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Skips from an opening bracket to just past its matching closing one.
std::size_t skip_group(const std::string& text, std::size_t at, char open, char close) {
    int depth = 0;
    for (; at < text.size(); ++at) {
        if (text[at] == open) {
            ++depth;
        } else if (text[at] == close && --depth == 0) {
            return at + 1;
        }
    }
    return at;
}

// The metric names a PromQL expression selects: identifiers that are not functions,
// aggregations or keywords, outside label matchers ({...}), ranges ([...]), strings, and the
// label lists of by/without/on/ignoring/group_left/group_right.
std::set<std::string> promql_metric_names(const std::string& expr) {
    static const std::set<std::string> kKeywords = {
        "and",        "or",           "unless",  "by",     "without",  "on",     "ignoring",
        "group_left", "group_right",  "bool",    "offset", "inf",      "nan",    "atan2",
        "sum",        "min",          "max",     "avg",    "group",    "stddev", "stdvar",
        "count",      "count_values", "bottomk", "topk",   "quantile", "limitk", "limit_ratio"};
    static const std::set<std::string> kLabelLists = {"by",       "without",    "on",
                                                      "ignoring", "group_left", "group_right"};
    std::set<std::string> names;
    std::size_t at = 0;
    while (at < expr.size()) {
        const char c = expr[at];
        if (c == '"' || c == '\'' || c == '`') {
            const auto end = expr.find(c, at + 1);
            at = end == std::string::npos ? expr.size() : end + 1;
        } else if (c == '{') {
            at = skip_group(expr, at, '{', '}');
        } else if (c == '[') {
            at = skip_group(expr, at, '[', ']');
        } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.') {
            // A number or a duration (5m, 1e3, 0.9).
            while (at < expr.size() && (is_name_char(expr[at]) || expr[at] == '.')) {
                ++at;
            }
        } else if (is_name_start(c)) {
            std::size_t end = at;
            while (end < expr.size() && is_name_char(expr[end])) {
                ++end;
            }
            const std::string word = expr.substr(at, end - at);
            std::size_t next = end;
            while (next < expr.size() && std::isspace(static_cast<unsigned char>(expr[next]))) {
                ++next;
            }
            const bool call = next < expr.size() && expr[next] == '(';
            if (kLabelLists.count(word) == 1 && call) {
                at = skip_group(expr, next, '(', ')');
                continue;
            }
            if (!call && kKeywords.count(word) == 0) {
                names.insert(word);
            }
            at = end;
        } else {
            ++at;
        }
    }
    return names;
}

// A Grafana expression as Prometheus would receive it: its interval variables filled in (the
// others only occur inside label matcher strings, where any text is valid).
std::string without_grafana_variables(std::string expr) {
    for (const char* variable : {"$__rate_interval", "$__interval", "$__range"}) {
        expr = test::replace_all(expr, variable, "5m");
    }
    return expr;
}

// Every PromQL expression of the dashboard: panel queries, and the selectors inside the
// variables' label_values(selector, label) queries.
std::vector<std::string> dashboard_expressions(const nlohmann::json& dashboard) {
    std::vector<std::string> exprs;
    for (const auto& panel : dashboard.at("panels")) {
        for (const auto& target : panel.value("targets", nlohmann::json::array())) {
            exprs.push_back(without_grafana_variables(target.at("expr").get<std::string>()));
        }
    }
    const std::regex label_values(R"(^label_values\((.*),\s*\w+\)$)");
    for (const auto& variable : dashboard.at("templating").at("list")) {
        if (variable.at("type") != "query") {
            continue;
        }
        const std::string query = variable.at("definition").get<std::string>();
        std::smatch match;
        INFO("variable " << variable.at("name") << ": " << query);
        REQUIRE(std::regex_match(query, match, label_values));
        exprs.push_back(match[1].str());
    }
    return exprs;
}

nlohmann::json load_dashboard() {
    return nlohmann::json::parse(test::read_text_file(kDashboard));
}

// The sonde.yml of deploy/kubernetes's ConfigMap.
YAML::Node kubernetes_config() {
    const YAML::Node config_map =
        YAML::LoadFile(test::kSourceDir + "deploy/kubernetes/base/configmap.yaml");
    return YAML::Load(config_map["data"]["sonde.yml"].as<std::string>());
}

}  // namespace

TEST_CASE("promtool accepts deploy/prometheus's scrape configs and rules",
          "[integration][deploy]") {
    for (const char* file : {"scrape-scheduled.yml", "scrape-sharded.yml", "scrape-sd.yml"}) {
        const auto result =
            test::run_command({"/usr/bin/promtool", "check", "config", kDir + file});
        INFO(file << ": " << result.output);
        CHECK(result.exit_code == 0);
    }
    // Debian's promtool has no kubernetes_sd_configs: the classic recipe is checked with
    // static_configs in their place, relabelling and all.
    test::TempDir dir;
    std::string recipe = test::read_text_file(kDir + "scrape-probe-kubernetes.yml");
    recipe = test::replace_all(recipe, "kubernetes_sd_configs:\n      - role: service",
                               "static_configs:\n      - targets: ['web.shop.svc:80']");
    recipe = test::replace_all(recipe, "kubernetes_sd_configs:\n      - role: ingress",
                               "static_configs:\n      - targets: ['shop.example']");
    REQUIRE(recipe.find("- role:") == std::string::npos);
    const auto b =
        test::run_command({"/usr/bin/promtool", "check", "config", dir.write("b.yml", recipe)});
    INFO(b.output);
    CHECK(b.exit_code == 0);
    const auto rules =
        test::run_command({"/usr/bin/promtool", "check", "rules", kDir + "rules.yml"});
    INFO(rules.output);
    CHECK(rules.exit_code == 0);
}

TEST_CASE("every metric the alert rules and the dashboard use is exported by sonde",
          "[integration][deploy]") {
    // A sonde with everything the rules and the dashboard look at: a passing and a failing
    // scheduled target, Kubernetes discovery (against the fake API), an https probe for the
    // certificate and the http phases, dns and icmp probes for theirs.
    test::FakeKubeApi api;
    test::ThreadedTcpServer up("hello\n");
    test::NginxServer nginx;
    test::TempDir dir;
    const std::string kubeconfig = dir.write("kubeconfig", api.kubeconfig());
    const std::string config =
        dir.write("sonde.yml",
                  "modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 2s\n"
                  "  https_ca:\n    prober: http\n    http:\n      tls_config: {ca_file: " +
                      nginx.ca_file() +
                      "}\n"
                      "  dns_udp:\n    prober: dns\n    timeout: 2s\n"
                      "    dns: {query_name: example.com, transport_protocol: udp}\n"
                      "  icmp:\n    prober: icmp\n    timeout: 2s\n"
                      "targets:\n  - module: tcp_connect\n    interval: 1s\n    targets: ['" +
                      up.address() +
                      "', '127.0.0.1:1']\n"
                      "discovery:\n  kubernetes:\n    kubeconfig: " +
                      kubeconfig +
                      "\n    service_module: tcp_connect\n"
                      "    ingress_module: tcp_connect\n");
    test::SondeProcess sonde({"--config.file=" + config});

    std::set<std::string> exported;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (exported.count("sonde_target_failure_reason") == 0 ||
           exported.count("sonde_target_probe_duration_seconds_bucket") == 0) {
        REQUIRE(std::chrono::steady_clock::now() < give_up);
        const auto reply = test::http_request(sonde.port(), "GET", "/metrics");
        for (const auto& [sample, value] : test::parse_samples(reply.body)) {
            exported.insert(metric_name(sample));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Whether the dns and icmp probes succeed does not matter (icmp may lack the privilege,
    // nothing answers DNS on port 1): they export their phases either way.
    for (const std::string& query : {"/probe?module=https_ca&target=" + nginx.https_url("/ok"),
                                     std::string("/probe?module=dns_udp&target=127.0.0.1:1"),
                                     std::string("/probe?module=icmp&target=127.0.0.1")}) {
        const auto probe = test::http_request(sonde.port(), "GET", query);
        REQUIRE(probe.status == 200);
        for (const auto& [sample, value] : test::parse_samples(probe.body)) {
            exported.insert(metric_name(sample));
        }
    }
    // The names of a histogram's samples (_bucket, _sum, _count) are what a query names.
    REQUIRE(exported.count("sonde_scheduler_lag_seconds_bucket") == 1);

    std::set<std::string> from_rules;
    for (const YAML::Node& group : YAML::LoadFile(kDir + "rules.yml")["groups"]) {
        for (const YAML::Node& rule : group["rules"]) {
            const auto names = promql_metric_names(rule["expr"].as<std::string>());
            from_rules.insert(names.begin(), names.end());
        }
    }
    REQUIRE(from_rules.size() >= 6);
    for (const auto& metric : from_rules) {
        INFO("the rules use " << metric);
        CHECK(exported.count(metric) == 1);
    }

    std::set<std::string> from_dashboard;
    for (const auto& expr : dashboard_expressions(load_dashboard())) {
        const auto names = promql_metric_names(expr);
        from_dashboard.insert(names.begin(), names.end());
    }
    REQUIRE(from_dashboard.size() >= 20);
    for (const auto& metric : from_dashboard) {
        INFO("the dashboard uses " << metric);
        CHECK(exported.count(metric) == 1);
    }
}

TEST_CASE("PromQL metric names are read off expressions, not labels or functions",
          "[integration][deploy]") {
    CHECK(promql_metric_names(
              "histogram_quantile(0.9, sum by (target, le) (rate(a_bucket{job=~\"$job\", "
              "x=\"y\"}[5m]))) > 2 or b_total offset 1h unless on (instance) group_left(z) c") ==
          std::set<std::string>{"a_bucket", "b_total", "c"});
    CHECK(promql_metric_names("min(probe_x - time()) / 86400 or vector(0)") ==
          std::set<std::string>{"probe_x"});
    CHECK(promql_metric_names("count(up == 0) + sum without (a) (rate(d[$__rate_interval]))") ==
          std::set<std::string>{"up", "d"});
}

TEST_CASE("deploy/grafana: the dashboard is well formed and its PromQL parses",
          "[integration][deploy]") {
    const nlohmann::json dashboard = load_dashboard();
    CHECK(!dashboard.at("title").get<std::string>().empty());
    CHECK(!dashboard.at("uid").get<std::string>().empty());

    // A datasource variable, and every panel and query asks it rather than a fixed uid.
    bool datasource_variable = false;
    for (const auto& variable : dashboard.at("templating").at("list")) {
        if (variable.at("type") == "datasource" && variable.at("name") == "datasource") {
            CHECK(variable.at("query") == "prometheus");
            datasource_variable = true;
        }
    }
    CHECK(datasource_variable);
    std::set<int> ids;
    int queries = 0;
    for (const auto& panel : dashboard.at("panels")) {
        INFO("panel " << panel.value("title", "?"));
        CHECK(ids.insert(panel.at("id").get<int>()).second);
        const auto& grid = panel.at("gridPos");
        CHECK(grid.at("x").get<int>() + grid.at("w").get<int>() <= 24);
        if (panel.at("type") == "row") {
            continue;
        }
        CHECK(panel.at("datasource").at("uid") == "${datasource}");
        REQUIRE(!panel.at("targets").empty());
        for (const auto& target : panel.at("targets")) {
            CHECK(target.at("datasource").at("uid") == "${datasource}");
            CHECK(!target.at("expr").get<std::string>().empty());
            ++queries;
        }
    }
    CHECK(queries >= 20);

    // promtool parses every expression (as the expr of a recording rule each).
    YAML::Emitter rules;
    rules << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq
          << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "dashboard" << YAML::Key
          << "rules" << YAML::Value << YAML::BeginSeq;
    int n = 0;
    for (const auto& expr : dashboard_expressions(dashboard)) {
        rules << YAML::BeginMap << YAML::Key << "record" << YAML::Value
              << "dashboard:expr_" + std::to_string(n++) << YAML::Key << "expr" << YAML::Value
              << expr << YAML::EndMap;
    }
    rules << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    test::TempDir dir;
    const auto check = test::run_command(
        {"/usr/bin/promtool", "check", "rules", dir.write("dashboard.yml", rules.c_str())});
    INFO(rules.c_str() << "\n" << check.output);
    CHECK(check.exit_code == 0);
}

TEST_CASE("deploy/prometheus/probe-operator.yaml: Probes through sonde with a module it has",
          "[integration][deploy]") {
    const YAML::Node modules = kubernetes_config()["modules"];
    REQUIRE(modules.IsMap());
    // sonde's Service in deploy/kubernetes: <name>.<namespace>.svc:<port>.
    const YAML::Node service =
        YAML::LoadFile(test::kSourceDir + "deploy/kubernetes/base/service.yaml");
    const YAML::Node base =
        YAML::LoadFile(test::kSourceDir + "deploy/kubernetes/base/kustomization.yaml");
    const std::string prober = service["metadata"]["name"].as<std::string>() + "." +
                               base["namespace"].as<std::string>() +
                               ".svc:" + service["spec"]["ports"][0]["port"].as<std::string>();
    CHECK(prober == "sonde.monitoring.svc:9115");

    bool static_targets = false;
    bool ingresses = false;
    const auto docs = YAML::LoadAllFromFile(kDir + "probe-operator.yaml");
    REQUIRE(docs.size() >= 2);
    for (const YAML::Node& probe : docs) {
        INFO(probe["metadata"]["name"]);
        CHECK(probe["apiVersion"].as<std::string>() == "monitoring.coreos.com/v1");
        CHECK(probe["kind"].as<std::string>() == "Probe");
        REQUIRE(probe["metadata"]["name"].IsScalar());
        const YAML::Node spec = probe["spec"];
        CHECK(spec["prober"]["url"].as<std::string>() == prober);
        if (spec["prober"]["path"]) {
            CHECK(spec["prober"]["path"].as<std::string>() == "/probe");
        }
        const std::string module = spec["module"].as<std::string>();
        CHECK(module == "http_2xx");
        CHECK(modules[module].IsMap());
        if (spec["targets"]["staticConfig"]) {
            CHECK(spec["targets"]["staticConfig"]["static"].size() >= 1);
            static_targets = true;
        }
        if (spec["targets"]["ingress"]) {
            CHECK(spec["targets"]["ingress"]["selector"].IsMap());
            ingresses = true;
        }
    }
    CHECK(static_targets);
    CHECK(ingresses);
}

}  // namespace sonde

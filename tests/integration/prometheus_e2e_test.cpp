// A real Prometheus (Debian's /usr/bin/prometheus) scrapes a running sonde with the scrape
// configs shipped in deploy/prometheus, and its query API shows the probe results with the
// labels those configs promise: (a) sonde's /metrics in scheduled mode, (b) the classic
// blackbox recipe relabelled through /probe, (c) http_sd_configs from sonde's /sd. It also
// proves that Prometheus takes sonde's exposition as it is: every scrape succeeds, no sample is
// refused, and the type and help of every family arrive unchanged; and that the shipped alert
// rules (rules.yml) fire on the failures.

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "prober/net/http_response.hpp"
#include "tests/support/metrics_parse.hpp"
#include "tests/support/prometheus_server.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_http_server.hpp"

namespace sonde {
namespace {

using Clock = std::chrono::steady_clock;
using Labels = std::map<std::string, std::string>;

const std::string kDeployDir = std::string(SONDE_SOURCE_DIR) + "/deploy/prometheus/";
// The address the shipped files give sonde (its Service in the monitoring namespace).
const std::string kShippedSondeAddress = "sonde.monitoring.svc:9115";

// The scrape_configs of one shipped file.
YAML::Node shipped_jobs(const std::string& file) {
    const YAML::Node root = YAML::LoadFile(kDeployDir + file);
    INFO(file);
    REQUIRE(root["scrape_configs"].IsSequence());
    REQUIRE(root["scrape_configs"].size() >= 1);
    return root["scrape_configs"];
}

// Points the relabel rules that send a scrape to the shipped sonde address at the sonde of the
// test; every other rule is kept as shipped. Returns how many rules it changed.
int point_relabelling_at(YAML::Node job, const std::string& sonde) {
    int changed = 0;
    for (auto rule : job["relabel_configs"]) {
        if (rule["replacement"] && rule["replacement"].as<std::string>() == kShippedSondeAddress) {
            rule["replacement"] = sonde;
            ++changed;
        }
    }
    return changed;
}

// A job scrapes every second (the shipped files say 30s), so the test sees a few scrapes in a
// few seconds: an interval set in the file is replaced, an absent one takes the global 1s.
void scrape_every_second(YAML::Node job) {
    if (job["scrape_interval"]) {
        job["scrape_interval"] = "1s";
    }
}

// One object as Prometheus' kubernetes_sd_configs would report it, in a static_configs group.
// The Debian build has no Kubernetes discovery, but static_configs may carry any label,
// __meta_* included (checked: the keep rule below drops the group without the annotation), so
// the shipped relabel_configs run verbatim on the same labels kubernetes_sd would attach:
//   role service: __address__ "<service>.<namespace>.svc:<port>" (here the loopback address
//     that cluster DNS would resolve it to), __meta_kubernetes_namespace,
//     __meta_kubernetes_service_name, and per annotation __meta_kubernetes_service_annotation_*
//     (name sanitised: prometheus.io/probe -> prometheus_io_probe) with its
//     ..._annotationpresent_* twin;
//   role ingress: __address__ the rule's host (here host:port of the loopback server: a test
//     has no port 80), __meta_kubernetes_ingress_scheme (http or https by the ingress' tls
//     hosts), __meta_kubernetes_ingress_path, __meta_kubernetes_ingress_name, the namespace and
//     the annotations as for services.
YAML::Node kubernetes_object(const std::string& role, const std::string& name,
                             const std::string& address, bool annotated) {
    YAML::Node group;
    group["targets"].push_back(address);
    YAML::Node labels;
    labels["__meta_kubernetes_namespace"] = "shop";
    labels["__meta_kubernetes_" + role + "_name"] = name;
    if (annotated) {
        labels["__meta_kubernetes_" + role + "_annotation_prometheus_io_probe"] = "true";
        labels["__meta_kubernetes_" + role + "_annotationpresent_prometheus_io_probe"] = "true";
    }
    if (role == "ingress") {
        labels["__meta_kubernetes_ingress_scheme"] = "http";
        labels["__meta_kubernetes_ingress_path"] = "/";
    }
    group["labels"] = labels;
    return group;
}

// Writes node as YAML, keeping each scalar's meaning: one that was plain in a shipped file stays
// plain (honor_labels: true is a bool), one that was quoted there (regex: "true") or that the
// test made (addresses, label values such as "true") is written double-quoted, as a string.
// yaml-cpp's own emitter would drop the quotes.
void emit(YAML::Emitter& out, const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            out << YAML::BeginMap;
            for (const auto& entry : node) {
                out << YAML::Key << entry.first.Scalar() << YAML::Value;
                emit(out, entry.second);
            }
            out << YAML::EndMap;
            break;
        case YAML::NodeType::Sequence:
            out << YAML::BeginSeq;
            for (const auto& item : node) {
                emit(out, item);
            }
            out << YAML::EndSeq;
            break;
        case YAML::NodeType::Scalar:
            if (node.Tag() == "?") {
                out << node.Scalar();
            } else {
                out << YAML::DoubleQuoted << node.Scalar();
            }
            break;
        default:
            out << YAML::Null;
            break;
    }
}

// Returns whether a series with exactly these labels (besides __name__) has this value.
bool has_series(const std::vector<test::PromSample>& result, const Labels& labels, double value) {
    for (const auto& sample : result) {
        Labels without_name = sample.labels;
        without_name.erase("__name__");
        if (without_name == labels) {
            return sample.value == value;
        }
    }
    return false;
}

std::string describe(const std::vector<test::PromSample>& result) {
    std::ostringstream out;
    for (const auto& sample : result) {
        out << "  {";
        for (const auto& [name, value] : sample.labels) {
            out << name << "=\"" << value << "\",";
        }
        out << "} " << sample.value << "\n";
    }
    return out.str();
}

// name -> {type, help} from the # TYPE and # HELP lines of an exposition, help unescaped.
std::map<std::string, std::pair<std::string, std::string>> families(const std::string& text) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string hash;
        std::string keyword;
        std::string name;
        words >> hash >> keyword >> name;
        if (hash != "#" || (keyword != "TYPE" && keyword != "HELP")) {
            continue;
        }
        std::string rest;
        std::getline(words, rest);
        if (!rest.empty() && rest.front() == ' ') {
            rest.erase(0, 1);
        }
        if (keyword == "TYPE") {
            out[name].first = rest;
            continue;
        }
        std::string help;
        for (std::size_t i = 0; i < rest.size(); ++i) {
            if (rest[i] == '\\' && i + 1 < rest.size()) {
                help += rest[i + 1] == 'n' ? '\n' : rest[i + 1];
                ++i;
            } else {
                help += rest[i];
            }
        }
        out[name].second = help;
    }
    return out;
}

net::HttpResponse ok_response() {
    net::HttpResponse response;
    response.status = 200;
    response.body = "ok\n";
    return response;
}

}  // namespace

TEST_CASE("a real Prometheus scrapes sonde through the shipped scrape configs",
          "[integration][prometheus]") {
    test::ThreadedHttpServer healthy([](const net::HttpRequest&) { return ok_response(); });
    REQUIRE(healthy.port() != 0);
    const std::string up_address = healthy.address();
    // A loopback port nobody listens on: probes of it are refused at once.
    const std::string dead_address = "127.0.0.1:" + std::to_string(test::free_port());

    // sonde probes the healthy server with two modules (one target, two series: labels must
    // tell them apart in every recipe) and the dead port with one.
    test::TempDir dir;
    const std::string sonde_config =
        dir.write("sonde.yml",
                  "modules:\n"
                  "  http_2xx:\n    prober: http\n"
                  "  tcp_connect:\n    prober: tcp\n"
                  "targets:\n"
                  "  - module: http_2xx\n    interval: 1s\n    targets: ['" +
                      up_address + "', '" + dead_address +
                      "']\n"
                      "  - module: tcp_connect\n    interval: 1s\n    targets: ['" +
                      up_address + "']\n");
    test::SondeProcess sonde({"--config.file=" + sonde_config});
    const std::string sonde_address = "127.0.0.1:" + std::to_string(sonde.port());

    // The Prometheus config: the jobs of the three shipped files, with only their discovery,
    // the addresses and the intervals replaced; relabel_configs, params, metrics_path and
    // honor_labels stay as shipped.
    YAML::Node prometheus_config;
    prometheus_config["global"]["scrape_interval"] = "1s";
    prometheus_config["global"]["evaluation_interval"] = "1s";
    YAML::Node jobs;
    std::set<std::string> scheduled_jobs;
    std::set<std::string> service_jobs;
    std::set<std::string> ingress_jobs;
    std::set<std::string> sd_jobs;

    // (a) sonde's /metrics: the static target becomes the test's sonde.
    for (auto job : shipped_jobs("scrape-scheduled.yml")) {
        REQUIRE(job["static_configs"].IsSequence());
        YAML::Node targets;
        targets.push_back(sonde_address);
        YAML::Node group;
        group["targets"] = targets;
        YAML::Node groups;
        groups.push_back(group);
        job["static_configs"] = groups;
        scrape_every_second(job);
        scheduled_jobs.insert(job["job_name"].as<std::string>());
        jobs.push_back(job);
    }
    // (b) the classic recipe: kubernetes_sd_configs becomes static_configs holding, for its
    // role, an annotated healthy object, an annotated dead one, and a healthy one without the
    // annotation, which the recipe must leave out.
    for (auto job : shipped_jobs("scrape-probe-kubernetes.yml")) {
        const std::string name = job["job_name"].as<std::string>();
        INFO(name);
        REQUIRE(job["kubernetes_sd_configs"].size() == 1);
        const std::string role = job["kubernetes_sd_configs"][0]["role"].as<std::string>();
        REQUIRE((role == "service" || role == "ingress"));
        job.remove("kubernetes_sd_configs");
        const bool service = role == "service";
        YAML::Node groups;
        groups.push_back(kubernetes_object(role, service ? "web" : "shop", up_address, true));
        groups.push_back(
            kubernetes_object(role, service ? "gone" : "old-shop", dead_address, true));
        groups.push_back(kubernetes_object(role, "private", up_address, false));
        job["static_configs"] = groups;
        REQUIRE(point_relabelling_at(job, sonde_address) == 1);
        scrape_every_second(job);
        (service ? service_jobs : ingress_jobs).insert(name);
        jobs.push_back(job);
    }
    // (c) /sd: the discovery URL becomes the test's sonde, refreshed every second.
    for (auto job : shipped_jobs("scrape-sd.yml")) {
        INFO(job["job_name"].as<std::string>());
        REQUIRE(job["http_sd_configs"].size() == 1);
        job["http_sd_configs"][0]["url"] = "http://" + sonde_address + "/sd";
        job["http_sd_configs"][0]["refresh_interval"] = "1s";
        REQUIRE(point_relabelling_at(job, sonde_address) == 1);
        scrape_every_second(job);
        sd_jobs.insert(job["job_name"].as<std::string>());
        jobs.push_back(job);
    }
    REQUIRE(scheduled_jobs.size() == 1);
    REQUIRE(service_jobs.size() == 1);
    REQUIRE(ingress_jobs.size() == 1);
    REQUIRE(sd_jobs.size() == 1);
    prometheus_config["scrape_configs"] = jobs;
    // The shipped alert rules, evaluated every second on what is scraped.
    prometheus_config["rule_files"].push_back(kDeployDir + "rules.yml");
    YAML::Emitter emitter;
    emit(emitter, prometheus_config);
    const std::string prometheus_yaml = emitter.c_str();
    INFO("prometheus.yml:\n" << prometheus_yaml);
    REQUIRE(prometheus_yaml.find(kShippedSondeAddress) == std::string::npos);
    REQUIRE(prometheus_yaml.find("sonde.monitoring") == std::string::npos);

    test::PrometheusServer prometheus(prometheus_yaml);

    const std::string scheduled = *scheduled_jobs.begin();
    const std::string services = *service_jobs.begin();
    const std::string ingresses = *ingress_jobs.begin();
    const std::string sd = *sd_jobs.begin();
    // Each probe result, in each recipe, as one series with exactly these labels.
    const std::vector<std::pair<Labels, double>> expected_success = {
        // (a): honor_labels keeps sonde's target and module; instance is sonde.
        {{{"job", scheduled},
          {"instance", sonde_address},
          {"module", "http_2xx"},
          {"target", up_address}},
         1},
        {{{"job", scheduled},
          {"instance", sonde_address},
          {"module", "http_2xx"},
          {"target", dead_address}},
         0},
        {{{"job", scheduled},
          {"instance", sonde_address},
          {"module", "tcp_connect"},
          {"target", up_address}},
         1},
        // (b): instance is the probed address, plus the object's namespace and name; the module
        // is the job's (params).
        {{{"job", services}, {"instance", up_address}, {"namespace", "shop"}, {"service", "web"}},
         1},
        {{{"job", services},
          {"instance", dead_address},
          {"namespace", "shop"},
          {"service", "gone"}},
         0},
        {{{"job", ingresses},
          {"instance", "http://" + up_address + "/"},
          {"namespace", "shop"},
          {"ingress", "shop"}},
         1},
        {{{"job", ingresses},
          {"instance", "http://" + dead_address + "/"},
          {"namespace", "shop"},
          {"ingress", "old-shop"}},
         0},
        // (c): instance is the target and module the one /sd gave.
        {{{"job", sd}, {"instance", up_address}, {"module", "http_2xx"}}, 1},
        {{{"job", sd}, {"instance", dead_address}, {"module", "http_2xx"}}, 0},
        {{{"job", sd}, {"instance", up_address}, {"module", "tcp_connect"}}, 1},
    };
    // Scrape targets per job: sonde once; each recipe object that is kept; each /sd entry.
    const std::map<std::string, std::size_t> expected_targets = {
        {scheduled, 1}, {services, 2}, {ingresses, 2}, {sd, 3}};

    // Polls the query API until everything holds at once, for at most 20 s (a hang guard on a
    // loaded machine; Prometheus scrapes every second, so it takes a few seconds).
    std::vector<std::string> unmet;
    std::string last_seen;
    const auto start = Clock::now();
    for (;;) {
        unmet.clear();
        const auto success = prometheus.query("probe_success");
        for (const auto& [labels, value] : expected_success) {
            if (!has_series(success, labels, value)) {
                std::ostringstream what;
                what << "probe_success " << value << " for";
                for (const auto& [name, label] : labels) {
                    what << " " << name << "=" << label;
                }
                unmet.push_back(what.str());
            }
        }
        // Nothing else: the unannotated objects are dropped, and no two probes share a series.
        if (success.size() != expected_success.size()) {
            unmet.push_back("exactly " + std::to_string(expected_success.size()) +
                            " probe_success series");
        }
        const auto up = prometheus.query("up");
        const auto scraped = prometheus.query("scrape_samples_scraped");
        const auto kept = prometheus.query("scrape_samples_post_metric_relabeling");
        for (const auto& [job, count] : expected_targets) {
            std::size_t up_targets = 0;
            for (const auto& sample : up) {
                if (sample.labels.at("job") == job && sample.value == 1) {
                    ++up_targets;
                }
            }
            if (up_targets != count) {
                unmet.push_back("up is 1 for " + std::to_string(count) + " targets of " + job);
            }
        }
        // Every scrape brought samples, and none was lost on the way in.
        if (scraped.size() != up.size() || kept.size() != up.size()) {
            unmet.push_back("scrape_samples_* for every target");
        }
        for (const auto& sample : scraped) {
            if (sample.value <= 0) {
                unmet.push_back("samples from " + sample.labels.at("instance"));
            }
            Labels labels = sample.labels;
            labels.erase("__name__");
            if (!has_series(kept, labels, sample.value)) {
                unmet.push_back("every sample of " + sample.labels.at("instance") + " kept");
            }
        }
        // sonde's own metrics are ingested from (a).
        const auto scheduled_targets = prometheus.query("sonde_scheduled_targets");
        if (!has_series(scheduled_targets, {{"job", scheduled}, {"instance", sonde_address}}, 3)) {
            unmet.push_back("sonde_scheduled_targets 3");
        }
        const auto probes = prometheus.query("sonde_probes_total{job=\"" + scheduled +
                                             "\",module=\"tcp_connect\"}");
        if (probes.empty() || probes.front().value <= 0) {
            unmet.push_back("sonde_probes_total for tcp_connect");
        }
        // The shipped rules see the failures: ProbeFailing is pending (its for: has not passed)
        // for exactly the dead target of each recipe, and ProbeFailingReason for the scheduled
        // one, with the reason.
        const auto failing = prometheus.query("ALERTS{alertname=\"ProbeFailing\"}");
        std::size_t dead_series = 0;
        for (const auto& [labels, value] : expected_success) {
            if (value != 0) {
                continue;
            }
            ++dead_series;
            Labels alert = labels;
            alert.insert(
                {{"alertname", "ProbeFailing"}, {"alertstate", "pending"}, {"severity", "page"}});
            if (!has_series(failing, alert, 1)) {
                unmet.push_back("ProbeFailing pending in " + labels.at("job"));
            }
        }
        if (failing.size() != dead_series) {
            unmet.push_back("ProbeFailing for the dead target only");
        }
        const auto reason = prometheus.query("ALERTS{alertname=\"ProbeFailingReason\"}");
        if (reason.size() != 1 || !has_series(reason,
                                              {{"job", scheduled},
                                               {"instance", sonde_address},
                                               {"module", "http_2xx"},
                                               {"target", dead_address},
                                               {"reason", "connect"},
                                               {"alertname", "ProbeFailingReason"},
                                               {"alertstate", "pending"},
                                               {"severity", "ticket"}},
                                              1)) {
            unmet.push_back("ProbeFailingReason pending for the dead target, reason connect");
        }
        last_seen = "ALERTS:\n" + describe(failing) + describe(reason) + "probe_success:\n" +
                    describe(success) + "up:\n" + describe(up) + "scrape_samples_scraped:\n" +
                    describe(scraped);
        if (unmet.empty() || Clock::now() - start > std::chrono::seconds(20)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    WARN("Prometheus showed everything after "
         << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()
         << " ms");
    {
        std::ostringstream missing;
        for (const auto& what : unmet) {
            missing << "  " << what << "\n";
        }
        INFO("not seen:\n" << missing.str() << "last seen:\n" << last_seen);
        INFO("targets: " << prometheus.api("/api/v1/targets").dump(1));
        INFO("Prometheus' log:\n" << prometheus.output());
        REQUIRE(unmet.empty());
    }

    // Each ProbeFailing alert names what fails: `target` for scheduled targets, `instance` for
    // the /probe recipes, which have no `target` label.
    {
        const auto alerts = prometheus.api("/api/v1/alerts").at("alerts");
        std::size_t probe_failing = 0;
        for (const auto& alert : alerts) {
            const auto& labels = alert.at("labels");
            if (labels.value("alertname", "") != "ProbeFailing") {
                continue;
            }
            ++probe_failing;
            const std::string named = labels.contains("target") ? labels.value("target", "")
                                                                : labels.value("instance", "");
            const std::string summary = alert.at("annotations").value("summary", "");
            INFO(alert.dump());
            CHECK_FALSE(named.empty());
            CHECK(summary.rfind(named, 0) == 0);
            CHECK(summary.find("<no value>") == std::string::npos);
        }
        CHECK(probe_failing > 0);
    }

    // Not SECTIONs: each would start both processes again. Every scrape succeeded, and the
    // recipe dropped the objects without the annotation.
    {
        const auto targets = prometheus.api("/api/v1/targets");
        std::size_t active = 0;
        for (const auto& target : targets.at("activeTargets")) {
            INFO(target.dump());
            CHECK(target.at("health") == "up");
            CHECK(target.at("lastError") == "");
            ++active;
        }
        CHECK(active == 8);
        std::size_t private_dropped = 0;
        for (const auto& target : targets.at("droppedTargets")) {
            const auto& discovered = target.at("discoveredLabels");
            for (const char* role : {"service", "ingress"}) {
                const std::string name_label = std::string("__meta_kubernetes_") + role + "_name";
                if (discovered.value(name_label, "") == "private") {
                    ++private_dropped;
                }
            }
        }
        CHECK(private_dropped == 2);
    }

    // Prometheus refused no sample of sonde's exposition.
    {
        // Prometheus counts the samples it refuses (a series repeated in one scrape, a time
        // out of order) without failing the scrape; its own /metrics shows them.
        const auto reply = test::http_request(prometheus.port(), "GET", "/metrics");
        REQUIRE(reply.status == 200);
        const auto own = test::parse_samples(reply.body);
        for (const char* counter : {"prometheus_target_scrapes_sample_duplicate_timestamp_total",
                                    "prometheus_target_scrapes_sample_out_of_order_total",
                                    "prometheus_target_scrapes_sample_out_of_bounds_total",
                                    "prometheus_target_scrapes_exceeded_sample_limit_total",
                                    "prometheus_sd_http_failures_total"}) {
            INFO(counter);
            REQUIRE(own.count(counter) == 1);
            CHECK(own.at(counter) == 0);
        }
    }

    // Every family arrives with sonde's type and help.
    {
        // What sonde exposes: /metrics, and /probe for each module.
        auto exposed = families(test::http_request(sonde.port(), "GET", "/metrics").body);
        for (const char* module : {"http_2xx", "tcp_connect"}) {
            const auto probe = test::http_request(
                sonde.port(), "GET",
                std::string("/probe?module=") + module + "&target=" + test::url_encode(up_address));
            REQUIRE(probe.status == 200);
            exposed.merge(families(probe.body));
        }
        std::set<std::string> seen;
        for (const auto& job : {scheduled, services, ingresses, sd}) {
            const auto metadata = prometheus.api("/api/v1/targets/metadata?match_target=" +
                                                 test::url_encode("{job=\"" + job + "\"}"));
            for (const auto& entry : metadata) {
                const std::string metric = entry.at("metric");
                INFO(job << ": " << metric);
                REQUIRE(exposed.count(metric) == 1);
                CHECK(entry.at("type") == exposed.at(metric).first);
                CHECK(entry.at("help") == exposed.at(metric).second);
                seen.insert(metric);
            }
        }
        for (const char* metric :
             {"probe_success", "probe_http_duration_seconds", "sonde_scheduled_targets",
              "sonde_probes_total", "sonde_target_probe_duration_seconds"}) {
            INFO(metric);
            CHECK(seen.count(metric) == 1);
        }
    }
}

}  // namespace sonde

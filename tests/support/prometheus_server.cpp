#include "tests/support/prometheus_server.hpp"

#include <cctype>
#include <regex>

#include <catch2/catch.hpp>
#include <unistd.h>

namespace sonde::test {

PrometheusServer::PrometheusServer(const std::string& config_yaml) {
    INFO("Prometheus is installed by scripts/install-deps.sh --test");
    REQUIRE(access(kBinary, X_OK) == 0);
    const std::string config = dir_.write("prometheus.yml", config_yaml);
    // Port 0: Prometheus logs the address it really bound ("Listening on"), so no port is
    // guessed and none can be taken by another test in between.
    process_ = std::make_unique<SondeProcess>(
        std::vector<std::string>{kBinary, "--config.file=" + config,
                                 "--storage.tsdb.path=" + dir_.path() + "/data",
                                 "--web.listen-address=127.0.0.1:0", "--log.level=info"},
        "Server is ready to receive web requests", 0);
    // "Listening on" comes from another goroutine than "Server is ready": either may be first.
    const auto port =
        process_->wait_for_output(R"(msg="Listening on" address=127\.0\.0\.1:([0-9]+))", 10000);
    INFO(process_->output());
    REQUIRE(port.has_value());
    port_ = static_cast<std::uint16_t>(std::stoi(*port));
}

PrometheusServer::~PrometheusServer() = default;

nlohmann::json PrometheusServer::api(const std::string& path_and_query) {
    const auto reply = http_request(port_, "GET", path_and_query);
    INFO("GET " << path_and_query << " -> " << reply.status << "\n" << reply.body);
    REQUIRE(reply.status == 200);
    const auto json = nlohmann::json::parse(reply.body, nullptr, false);
    REQUIRE(json.is_object());
    REQUIRE(json.value("status", "") == "success");
    return json.at("data");
}

std::vector<PromSample> PrometheusServer::query(const std::string& promql) {
    const auto data = api("/api/v1/query?query=" + url_encode(promql));
    REQUIRE(data.value("resultType", "") == "vector");
    std::vector<PromSample> samples;
    for (const auto& series : data.at("result")) {
        PromSample sample;
        for (const auto& [name, value] : series.at("metric").items()) {
            sample.labels[name] = value.get<std::string>();
        }
        // An instant vector's value is [unix time, "value as text"].
        sample.value = std::stod(series.at("value").at(1).get<std::string>());
        samples.push_back(std::move(sample));
    }
    return samples;
}

std::string url_encode(const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4U];
            out += kHex[byte & 0x0FU];
        }
    }
    return out;
}

}  // namespace sonde::test

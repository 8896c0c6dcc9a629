#pragma once

// PrometheusServer: the real Prometheus server (Debian's /usr/bin/prometheus) started by a test
// on 127.0.0.1 with a config the test gives and its own temporary storage, and blocking calls
// to its HTTP API. The process is killed when the object goes away, on every exit path of the
// test. Not tied to any loop: the test thread blocks on each call.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde::test {

// One series of an instant query's result: all its labels (with __name__) and its value.
struct PromSample {
    std::map<std::string, std::string> labels;
    double value = 0;
};

class PrometheusServer {
public:
    static constexpr const char* kBinary = "/usr/bin/prometheus";

    // Writes config_yaml to a temporary prometheus.yml and starts Prometheus on 127.0.0.1
    // port 0, waiting until it is ready for web requests; the port it bound is read from its
    // log. REQUIREs success; a failed start prints Prometheus' output.
    explicit PrometheusServer(const std::string& config_yaml);
    ~PrometheusServer();
    PrometheusServer(const PrometheusServer&) = delete;
    PrometheusServer& operator=(const PrometheusServer&) = delete;

    std::uint16_t port() const { return port_; }
    // What Prometheus logged so far (stdout and stderr).
    std::string output() { return process_->output(); }

    // GET path on the API; REQUIREs an HTTP 200 with "status": "success" and returns "data".
    nlohmann::json api(const std::string& path_and_query);
    // An instant query (/api/v1/query), as the series it returned.
    std::vector<PromSample> query(const std::string& promql);

private:
    // Declared first so that it is removed last, after the process is gone.
    TempDir dir_;
    std::unique_ptr<SondeProcess> process_;
    std::uint16_t port_ = 0;
};

// Percent-encodes text for a URL query value.
std::string url_encode(const std::string& text);

}  // namespace sonde::test

// Side by side with the reference: the same tcp modules and targets probed by sonde and by
// Debian's prometheus-blackbox-exporter (0.23) give the same metric names, the same
// probe_success and the same value-bearing metrics (durations aside).
//
// Differences allowed, each because sonde follows the newer exporter (0.28 and later), which
// the reference document describes, where Debian's 0.23 is older:
//  - probe_timeout_seconds: added upstream after 0.28 (#1571); 0.23 does not have it.
//  - probe_failed_due_to_bytes: added in 0.28 with expect_bytes.
//  - probe_failed_due_to_regex when the connection fails: 0.23 registers it before dialing;
//    newer versions only once connected.
// Not compared at all: query_response `labels` (probe_expect_info, 0.26) and `expect_bytes`
// (0.28), which 0.23 rejects as unknown fields; the tcp tests cover them.
#include <set>

#include <catch2/catch.hpp>

#include "tests/support/metrics_parse.hpp"
#include "tests/support/sonde_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/threaded_tcp_server.hpp"

namespace sonde {
namespace {

constexpr const char* kExporter = "/usr/bin/prometheus-blackbox-exporter";

constexpr const char* kConfig = R"yaml(modules:
  tcp_connect:
    prober: tcp
  tcp_connect_v4:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
  ssh_banner:
    prober: tcp
    tcp:
      query_response:
      - expect: "^SSH-2.0-"
  expect_nothing_matches:
    prober: tcp
    tcp:
      query_response:
      - expect: "^NEVER"
)yaml";

bool ignored_difference(const std::string& name, bool connect_failed) {
    if (name == "probe_timeout_seconds" || name == "probe_failed_due_to_bytes") {
        return true;
    }
    return connect_failed && name == "probe_failed_due_to_regex";
}

bool is_duration(const std::string& key) {
    return key.find("duration_seconds") != std::string::npos ||
           key.find("lookup_time_seconds") != std::string::npos;
}

TEST_CASE("tcp probes match blackbox_exporter side by side", "[integration][compat]") {
    test::TempDir dir;
    const std::string config = dir.write("blackbox.yml", kConfig);
    test::ThreadedTcpServer ssh("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    test::SondeProcess sonde({"--config.file=" + config});
    const std::uint16_t exporter_port = test::free_port();
    test::SondeProcess exporter({kExporter, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
                                "Listening on", exporter_port);

    const std::string closed = "127.0.0.1:" + std::to_string(test::free_port());
    struct Case {
        std::string module;
        std::string target;
        bool connect_fails;
    };
    const std::vector<Case> cases = {
        {"tcp_connect", ssh.address(), false},
        {"tcp_connect_v4", ssh.address(), false},
        {"tcp_connect", closed, true},
        {"ssh_banner", ssh.address(), false},
        {"expect_nothing_matches", ssh.address(), false},
    };
    for (const auto& c : cases) {
        INFO("module " << c.module << " target " << c.target);
        const std::string query = "/probe?module=" + c.module + "&target=" + c.target;
        const auto ours = test::http_request(sonde.port(), "GET", query);
        const auto theirs = test::http_request(exporter.port(), "GET", query);
        REQUIRE(ours.status == 200);
        REQUIRE(theirs.status == 200);
        const auto our_samples = test::parse_samples(ours.body);
        const auto their_samples = test::parse_samples(theirs.body);
        INFO("sonde:\n" << ours.body << "\nexporter:\n" << theirs.body);

        std::set<std::string> our_names;
        std::set<std::string> their_names;
        for (const auto& name : test::metric_names(our_samples)) {
            if (!ignored_difference(name, c.connect_fails)) {
                our_names.insert(name);
            }
        }
        for (const auto& name : test::metric_names(their_samples)) {
            if (!ignored_difference(name, c.connect_fails)) {
                their_names.insert(name);
            }
        }
        CHECK(our_names == their_names);
        for (const auto& [key, value] : their_samples) {
            if (is_duration(key) ||
                ignored_difference(key.substr(0, key.find('{')), c.connect_fails)) {
                continue;
            }
            INFO("sample " << key);
            REQUIRE(our_samples.count(key) == 1);
            CHECK(our_samples.at(key) == Approx(value));
        }
    }
}

}  // namespace
}  // namespace sonde

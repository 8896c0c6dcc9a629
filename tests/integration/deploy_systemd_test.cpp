// deploy/systemd/sonde.service: the command line it starts is one sonde accepts (always
// checked), the unit is hardened the way deploy/README.md says, and where systemd-analyze
// exists it verifies the unit and rates its exposure.

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/support/source_tree.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde {
namespace {

const std::string kUnit = test::kSourceDir + "deploy/systemd/sonde.service";
// Where the unit and deploy/README.md install things.
const std::string kInstalledBinary = "/usr/local/bin/sonde";
const std::string kInstalledConfig = "/etc/sonde/sonde.yml";

// "Section.Key" -> values in order (a key may repeat, as SystemCallFilter= does).
std::multimap<std::string, std::string> parse_unit(const std::string& text) {
    std::multimap<std::string, std::string> entries;
    std::istringstream in(text);
    std::string section;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#' || line[0] == ';') {
            continue;
        }
        if (line[0] == '[') {
            section = line.substr(1, line.find(']') - 1);
            continue;
        }
        const auto equals = line.find('=');
        REQUIRE(equals != std::string::npos);
        entries.emplace(section + "." + line.substr(0, equals), line.substr(equals + 1));
    }
    return entries;
}

std::string only(const std::multimap<std::string, std::string>& unit, const std::string& key) {
    INFO(key);
    REQUIRE(unit.count(key) == 1);
    return unit.find(key)->second;
}

// ExecStart's words as systemd would pass them: the binary of this build, the installed config
// replaced by deploy/sonde.yml (what README installs there), and $SONDE_ARGS from the absent
// /etc/default/sonde expanding to nothing.
std::vector<std::string> exec_start_argv(const std::string& exec_start) {
    REQUIRE(exec_start.find('"') == std::string::npos);  // no quoting to interpret
    std::istringstream in(exec_start);
    std::vector<std::string> argv;
    for (std::string word; in >> word;) {
        if (word == "$SONDE_ARGS") {
            continue;
        }
        argv.push_back(
            test::replace_all(word, kInstalledConfig, test::kSourceDir + "deploy/sonde.yml"));
    }
    REQUIRE(!argv.empty());
    CHECK(argv[0] == kInstalledBinary);
    argv[0] = SONDE_BINARY;
    return argv;
}

bool have_systemd_analyze() {
    return test::run_command({"/bin/sh", "-c", "command -v systemd-analyze"}).exit_code == 0;
}

}  // namespace

TEST_CASE("deploy/systemd: sonde accepts the unit's command line", "[integration][deploy]") {
    const auto unit = parse_unit(test::read_text_file(kUnit));
    auto argv = exec_start_argv(only(unit, "Service.ExecStart"));
    CHECK(std::find(argv.begin(), argv.end(),
                    "--config.file=" + test::kSourceDir + "deploy/sonde.yml") != argv.end());
    argv.push_back("--config.check");
    const auto check = test::run_command(argv);
    INFO(check.output);
    CHECK(check.exit_code == 0);

    // The check means something: the same command line with a flag sonde does not know fails.
    argv.push_back("--no-such.flag=1");
    CHECK(test::run_command(argv).exit_code != 0);
}

TEST_CASE("deploy/systemd: the unit is hardened and reloads with SIGHUP", "[integration][deploy]") {
    const auto unit = parse_unit(test::read_text_file(kUnit));
    const std::map<std::string, std::string> expected = {
        {"Service.DynamicUser", "yes"},
        {"Service.AmbientCapabilities", "CAP_NET_RAW"},
        {"Service.CapabilityBoundingSet", "CAP_NET_RAW"},
        {"Service.NoNewPrivileges", "yes"},
        {"Service.ProtectSystem", "strict"},
        {"Service.ProtectHome", "yes"},
        {"Service.PrivateTmp", "yes"},
        {"Service.Restart", "on-failure"},
        {"Service.ExecReload", "/bin/kill -HUP $MAINPID"},
        {"Install.WantedBy", "multi-user.target"},
    };
    for (const auto& [key, value] : expected) {
        CHECK(only(unit, key) == value);
    }
    // A socket per in-flight probe: far more than the usual 1024 descriptors.
    CHECK(std::stoul(only(unit, "Service.LimitNOFILE")) >= 65536);
}

TEST_CASE("deploy/systemd: systemd-analyze verifies the unit and rates it well hardened",
          "[integration][deploy]") {
    if (!have_systemd_analyze()) {
        // Not a test dependency (a CI image need not carry systemd); the command line and the
        // directives are checked by the test cases above either way.
        WARN("no systemd-analyze: unit not verified");
        return;
    }
    // verify checks that ExecStart's binary exists: point it at this build.
    test::TempDir dir;
    const std::string unit =
        dir.write("sonde.service",
                  test::replace_all(test::read_text_file(kUnit), kInstalledBinary, SONDE_BINARY));
    const auto verify = test::run_command({"/usr/bin/systemd-analyze", "verify", "--man=no", unit});
    INFO(verify.output);
    CHECK(verify.exit_code == 0);
    // Unknown keys and bad values are only warnings (exit 0): any line about the unit fails.
    CHECK(verify.output.find("sonde.service") == std::string::npos);

    // Exposure on systemd's 0-10 scale, given as tenths: at most 2.0 ("OK").
    const auto security = test::run_command(
        {"/usr/bin/systemd-analyze", "security", "--offline=yes", "--threshold=20", unit});
    INFO(security.output);
    CHECK(security.exit_code == 0);
}

}  // namespace sonde

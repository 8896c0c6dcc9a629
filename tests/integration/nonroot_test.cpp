// sonde without root (issue 8): the binary run as an unprivileged user pings with nothing but
// CAP_NET_RAW (a raw socket), and with no capability at all where net.ipv4.ping_group_range
// lets its group open ICMP datagram sockets (set inside a network namespace the test creates,
// never on the host). Each has a negative control: without the capability, or without the
// sysctl, the same ping fails, so the tests prove what makes it work.
//
// Switching users needs root: as another user the cases are skipped with a warning.

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/support/sonde_process.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_dir.hpp"

namespace sonde {
namespace {

constexpr const char* kNobody = "65534";
constexpr const char* kNonrootConfig = R"yaml(modules:
  icmp_v4:
    prober: icmp
    timeout: 3s
    icmp:
      preferred_ip_protocol: ip4
  icmp_v6:
    prober: icmp
    timeout: 3s
    icmp:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
)yaml";

// run_command() does not search PATH.
std::string find_tool(const char* name) {
    for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"}) {
        std::string path = std::string(dir) + name;
        if (::access(path.c_str(), X_OK) == 0) {
            return path;
        }
    }
    return name;
}

// A config file the unprivileged user can read (TempDir is private to root).
std::string readable_config(const test::TempDir& dir) {
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    const std::string file = dir.write("sonde.yml", kNonrootConfig);
    REQUIRE(::chmod(file.c_str(), 0644) == 0);
    return file;
}

// A line of /proc/<pid>/status without its name ("Uid:" -> "65534\t65534\t65534\t65534").
std::string status_field(pid_t pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name, 0) == 0) {
            line.erase(0, name.size());
            line.erase(0, line.find_first_not_of(" \t"));
            return line;
        }
    }
    return {};
}

// Whether the host's net.ipv4.ping_group_range lets group `gid` open ICMP datagram sockets.
bool host_allows_datagram(long gid) {
    std::ifstream in("/proc/sys/net/ipv4/ping_group_range");
    long low = 1;
    long high = 0;
    in >> low >> high;
    return low <= gid && gid <= high;
}

bool skip_unless_root() {
    if (::geteuid() == 0) {
        return false;
    }
    WARN("skipped: switching to an unprivileged user needs root");
    return true;
}

// setpriv as `nobody`, keeping exactly `caps` ("" for none) through exec (ambient).
std::vector<std::string> as_nobody(const std::string& caps) {
    const std::string set = caps.empty() ? "-all" : "-all,+" + caps;
    std::vector<std::string> argv{find_tool("setpriv"),
                                  std::string("--reuid=") + kNobody,
                                  std::string("--regid=") + kNobody,
                                  "--clear-groups",
                                  "--inh-caps=" + set,
                                  "--bounding-set=" + set};
    if (!caps.empty()) {
        argv.push_back("--ambient-caps=" + set);
    }
    return argv;
}

}  // namespace

TEST_CASE("non-root: an unprivileged sonde with only CAP_NET_RAW pings over a raw socket",
          "[integration][nonroot][icmp]") {
    if (skip_unless_root()) {
        return;
    }
    test::TempDir dir;
    const std::string file = readable_config(dir);

    auto argv = as_nobody("net_raw");
    argv.insert(argv.end(),
                {SONDE_BINARY, "--config.file=" + file, "--web.listen-address=127.0.0.1:0"});
    test::SondeProcess sonde(argv, test::kSondeListeningPattern, 0);
    // It really is nobody, with CAP_NET_RAW (bit 13) and nothing else.
    CHECK(status_field(sonde.pid(), "Uid:") == "65534\t65534\t65534\t65534");
    CHECK(status_field(sonde.pid(), "Gid:") == "65534\t65534\t65534\t65534");
    CHECK(status_field(sonde.pid(), "Groups:").empty());
    CHECK(status_field(sonde.pid(), "CapEff:") == "0000000000002000");
    CHECK(status_field(sonde.pid(), "CapPrm:") == "0000000000002000");

    for (const char* module : {"icmp_v4", "icmp_v6"}) {
        CAPTURE(module);
        const std::string target = std::string(module) == "icmp_v4" ? "127.0.0.1" : "::1";
        const auto reply = test::http_request(
            sonde.port(), "GET",
            "/probe?module=" + std::string(module) + "&target=" + target + "&debug=true");
        INFO(reply.body);
        CHECK(reply.status == 200);
        CHECK(reply.body.find("probe_success 1") != std::string::npos);
        if (!host_allows_datagram(65534)) {
            // Where the host's sysctl refuses datagram sockets, the capability is what worked.
            CHECK(reply.body.find("kind=raw") != std::string::npos);
        }
    }
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
}

TEST_CASE("non-root: without CAP_NET_RAW and without ping_group_range the ping fails, saying why",
          "[integration][nonroot][icmp]") {
    if (skip_unless_root()) {
        return;
    }
    if (host_allows_datagram(65534)) {
        WARN("skipped: the host's ping_group_range lets nobody ping without a capability");
        return;
    }
    test::TempDir dir;
    const std::string file = readable_config(dir);
    auto argv = as_nobody("");
    argv.insert(argv.end(),
                {SONDE_BINARY, "--config.file=" + file, "--web.listen-address=127.0.0.1:0"});
    test::SondeProcess sonde(argv, test::kSondeListeningPattern, 0);
    CHECK(status_field(sonde.pid(), "CapEff:") == "0000000000000000");
    const auto reply = test::http_request(sonde.port(), "GET",
                                          "/probe?module=icmp_v4&target=127.0.0.1&debug=true");
    INFO(reply.body);
    CHECK(reply.status == 200);
    CHECK(reply.body.find("probe_success 0") != std::string::npos);
    // The log says that the socket could not be opened, and why.
    CHECK(reply.body.find("Error listening to socket") != std::string::npos);
    sonde.signal(SIGTERM);
    CHECK(sonde.wait() == 0);
}

namespace {

// `sonde check` as nobody with no capability at all, inside a new network namespace whose
// ping_group_range is set (or left at its default "1 0") by a root shell before it drops
// everything. The namespace keeps the host's sysctl untouched.
test::CommandResult check_in_netns(const std::string& file, bool allow_datagram,
                                   const std::string& module, const std::string& target) {
    const auto drop = as_nobody("");
    std::string script = "ip link set lo up && ";
    if (allow_datagram) {
        script += "sysctl -qw net.ipv4.ping_group_range='0 2147483647' && ";
    }
    // Positional parameters: $0 sonde, $1 the config, $2 the module, $3 the target, then
    // setpriv and its arguments.
    script += "exec";
    for (std::size_t i = 0; i < drop.size(); ++i) {
        script += " \"${" + std::to_string(i + 4) + "}\"";
    }
    script += " \"$0\" check --config.file=\"$1\" --log.prober=debug \"$2\" \"$3\"";
    std::vector<std::string> argv{find_tool("unshare"), "-n", "--",   "sh",  "-c", script,
                                  SONDE_BINARY,         file, module, target};
    argv.insert(argv.end(), drop.begin(), drop.end());
    return test::run_command(argv);
}

}  // namespace

TEST_CASE("non-root: with no capability, ping_group_range in a namespace allows datagram pings",
          "[integration][nonroot][icmp]") {
    if (skip_unless_root()) {
        return;
    }
    if (test::run_command({find_tool("unshare"), "-n", "true"}).exit_code != 0) {
        if (std::getenv("CI") != nullptr) {
            FAIL("cannot create a network namespace");
        }
        WARN("skipped: cannot create a network namespace");
        return;
    }
    test::TempDir dir;
    const std::string file = readable_config(dir);

    for (const auto& [module, target] :
         {std::pair{"icmp_v4", "127.0.0.1"}, std::pair{"icmp_v6", "::1"}}) {
        CAPTURE(module);
        const auto allowed = check_in_netns(file, true, module, target);
        INFO(allowed.output);
        CHECK(allowed.exit_code == 0);
        CHECK(allowed.output.find("kind=datagram") != std::string::npos);
    }

    // The control: the namespace's default range ("1 0") lets nobody open them, and without a
    // capability there is no raw socket either.
    const auto refused = check_in_netns(file, false, "icmp_v4", "127.0.0.1");
    INFO(refused.output);
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("Error listening to socket") != std::string::npos);
}

// The unix prober's permission text (reference §3): only a user the socket's mode refuses can
// see it, so the probe runs as nobody against root's 0600 socket; root (any uid 0) would pass.
TEST_CASE("non-root: a unix socket the user may not open fails with the exporter's text",
          "[integration][nonroot][unix]") {
    if (skip_unless_root()) {
        return;
    }
    test::TempDir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    const std::string file =
        dir.write("unix.yml", "modules:\n  unix_connect:\n    prober: unix\n    timeout: 3s\n");
    REQUIRE(::chmod(file.c_str(), 0644) == 0);
    const std::string path = dir.path() + "/private.sock";
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    REQUIRE(::chmod(path.c_str(), 0600) == 0);

    auto argv = as_nobody("");
    argv.insert(argv.end(), {SONDE_BINARY, "check", "--config.file=" + file, "unix_connect", path});
    const auto denied = test::run_command(argv);
    INFO(denied.output);
    CHECK(denied.exit_code != 0);
    CHECK(denied.output.find("permission denied connecting to unix socket " + path) !=
          std::string::npos);

    // The control: opened to everyone, the same user connects.
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    const auto allowed = test::run_command(argv);
    INFO(allowed.output);
    CHECK(allowed.exit_code == 0);
    ::close(fd);
}

}  // namespace sonde

#include "tests/support/netns.hpp"

#include <cstdlib>
#include <vector>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "tests/support/subprocess.hpp"

namespace sonde::test {
namespace {

constexpr const char* kChildVariable = "SONDE_NETNS_CHILD";

std::string self_path() {
    std::vector<char> path(4096);
    const auto n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
    REQUIRE(n > 0);
    return std::string(path.data(), static_cast<std::size_t>(n));
}

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

}  // namespace

bool in_netns_child() {
    return std::getenv(kChildVariable) != nullptr;
}

bool run_in_netns(const std::string& setup, const std::string& child_test) {
    const std::string unshare = find_tool("unshare");
    std::vector<std::string> argv{unshare, "-n"};
    if (::geteuid() != 0) {
        argv.emplace_back("--map-root-user");
    }
    argv.insert(argv.end(), {"--", "sh", "-c",
                             "ip link set lo up && " + setup + " && " + kChildVariable +
                                 "=1 exec \"$0\" \"$1\" --use-colour no",
                             self_path(), child_test});
    const auto as_user = run_command({unshare, "-n", "--map-root-user", "true"});
    const auto as_root = run_command({unshare, "-n", "true"});
    if (as_user.exit_code != 0 && as_root.exit_code != 0) {
        if (std::getenv("CI") != nullptr) {
            FAIL("cannot create a network namespace: " + as_root.output);
        }
        WARN("skipped: cannot create a network namespace: " + as_root.output);
        return false;
    }
    const auto result = run_command(argv);
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("All tests passed") != std::string::npos);
    return true;
}

}  // namespace sonde::test

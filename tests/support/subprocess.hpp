#pragma once

// Runs a command to completion and captures what it printed; for tests of the sonde binary.

#include <functional>
#include <string>
#include <vector>

namespace sonde::test {

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] with the given arguments (no shell), waiting at most timeout_ms.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = 20000);

// The same for commands that do not end by themselves (kubectl get -w): after each read of
// its output, stop_when(output so far) is asked, and true kills the command (SIGKILL), as the
// timeout does. exit_code then reads 128 + 9.
CommandResult run_command_until(const std::vector<std::string>& argv, int timeout_ms,
                                const std::function<bool(const std::string&)>& stop_when);

}  // namespace sonde::test

#pragma once

// Runs a command to completion and captures what it printed; for tests of the sonde binary.

#include <string>
#include <vector>

namespace sonde::test {

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] with the given arguments (no shell), waiting at most timeout_ms.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = 20000);

}  // namespace sonde::test

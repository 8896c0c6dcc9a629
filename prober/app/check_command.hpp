#pragma once

// `sonde check [flags] MODULE TARGET [TARGET...]`: ad hoc probes from the command line.
//
// Loads the config as the server does (--config.file, or the built-in modules when the default
// file is absent), runs one probe per target concurrently on its own Loop, and prints each
// result (text, --json or --metrics). --repeat N / --interval D run the probes N times.
// With no MODULE and TARGET, runs every static target of the config's `targets:` section.
// Exit codes: 0 all probes succeeded, 1 some probe failed, 2 usage or config error, 130 when
// interrupted (SIGINT/SIGTERM: the probes in flight are cancelled, the finished ones summed up).

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "config/duration.hpp"
#include "config/result.hpp"
#include "prober/app/flags.hpp"

namespace sonde::app {

enum class CheckFormat { Text, Json, Metrics };

struct CheckOptions {
    Flags flags;  // the exporter flags that apply (config, resolver, logging)
    CheckFormat format = CheckFormat::Text;
    unsigned repeat = 1;
    config::Duration interval = std::chrono::seconds(1);
    std::optional<std::string> module;  // unset: the config's static targets
    std::vector<std::string> targets;
    bool show_help = false;
    // --log.prober given: each probe's log lines at that level or above go to stderr as the
    // probe runs (without it the results say enough).
    bool mirror_probe_log = false;
};

// Parses the arguments after "check". Errors are usage errors (exit 2).
[[nodiscard]] Result<CheckOptions> parse_check_args(const std::vector<std::string>& args);

std::string check_usage_text();

// Runs the checks and returns the exit code; results go to out, errors and logs to stderr.
int run_check(const CheckOptions& options, std::FILE* out);

// The whole subcommand: parse, run, exit code.
int run_check_command(const std::vector<std::string>& args);

}  // namespace sonde::app

#include "prober/app/cli.hpp"

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "prober/app/app.hpp"
#include "prober/app/check_command.hpp"
#include "prober/app/flags.hpp"
#include "prober/app/version.hpp"
#include "prober/core/logger.hpp"

namespace sonde::app {

int run_cli(int argc, char** argv) {
    // A peer that closes its socket while we write must not kill the process.
    std::signal(SIGPIPE, SIG_IGN);

    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args.front() == "check") {
        return run_check_command({args.begin() + 1, args.end()});
    }
    auto flags = parse_flags(args);
    if (!flags) {
        std::fprintf(stderr, "sonde: error: %s\n", flags.error().c_str());
        return 1;
    }
    if (flags->show_help) {
        std::fputs(usage_text().c_str(), stdout);
        return 0;
    }
    if (flags->show_version) {
        std::printf("sonde, version %s (revision: %s)\n", kVersion, kRevision);
        return 0;
    }
    Logger logger(flags->log_level, flags->log_json);

    if (flags->config_check) {
        auto runtime = load_runtime(*flags, logger);
        if (!runtime) {
            logger.error("Error loading config", {{"err", runtime.error()}});
            return 1;
        }
        for (const auto& warning : (*runtime)->warnings) {
            logger.warn(warning);
        }
        logger.info("Config file is ok exiting...");
        return 0;
    }

    logger.info("Starting sonde", {{"version", kVersion}, {"revision", kRevision}});
    auto app = App::create(*flags, logger);
    if (!app) {
        logger.error(app.error());
        return 1;
    }
    const int code = (*app)->run();
    app->reset();
    return code;
}

}  // namespace sonde::app

#include "prober/app/cli.hpp"

#include <cstdio>
#include <string_view>

namespace sonde::app {

int run_cli(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--version") {
            std::printf("sonde, version 0.1.0\n");
            return 0;
        }
    }
    std::fprintf(stderr, "sonde: the exporter is not built yet; only --version works\n");
    return 1;
}

}  // namespace sonde::app

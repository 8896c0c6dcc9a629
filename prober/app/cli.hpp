#pragma once

namespace sonde::app {

// Parses the command line and runs sonde; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace sonde::app

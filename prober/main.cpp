// sonde: wires the command line, config, loop and exporter together. No logic lives here.
#include "prober/app/cli.hpp"

int main(int argc, char** argv) {
    return sonde::app::run_cli(argc, argv);
}

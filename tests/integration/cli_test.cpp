#include <catch2/catch.hpp>

#include "tests/support/subprocess.hpp"

namespace sonde {
namespace {

TEST_CASE("sonde --version names the program and exits 0", "[integration][cli]") {
    const auto result = test::run_command({SONDE_BINARY, "--version"});
    CHECK(result.exit_code == 0);
    CHECK(result.output.rfind("sonde, version ", 0) == 0);
}

}  // namespace
}  // namespace sonde

#pragma once

// Shared by the config tests: a config text that must fail to load, and its error.

#include <string>

#include <catch2/catch.hpp>

#include "config/loader.hpp"

namespace sonde::test {

// The load error of text, read as file "t.yml"; the test fails if the text loads.
inline std::string config_error_of(const std::string& text) {
    auto loaded = sonde::config::load_config_text(text, "t.yml");
    REQUIRE_FALSE(loaded.has_value());
    return loaded.error();
}

// A config section holding only a tcp module, for tests about the other sections.
inline constexpr const char* kTcpModuleOnly = "modules:\n  tcp:\n    prober: tcp\n";

}  // namespace sonde::test

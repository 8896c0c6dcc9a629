#pragma once

// The repository's own files (deploy/, docs/, config examples) as the tests read them.

#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

namespace sonde::test {

// The source tree's root, with a trailing slash.
inline const std::string kSourceDir = std::string(SONDE_SOURCE_DIR) + "/";

// The whole file; the test fails if it cannot be read.
inline std::string read_text_file(const std::string& path) {
    std::ifstream file(path);
    REQUIRE(file);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

// text with every occurrence of from replaced by to.
inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

}  // namespace sonde::test

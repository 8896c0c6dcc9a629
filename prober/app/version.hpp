#pragma once

namespace sonde::app {

inline constexpr const char* kVersion = "0.1.0";
// The commit sonde was built from (git rev-parse --short), defined in the generated revision.cpp.
extern const char* const kRevision;

}  // namespace sonde::app

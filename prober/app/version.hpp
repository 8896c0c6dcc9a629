#pragma once

namespace sonde::app {

inline constexpr const char* kVersion = "0.1.0";
inline constexpr const char* kRevision = SONDE_REVISION;

}  // namespace sonde::app

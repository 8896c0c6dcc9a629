#pragma once

// Reading the files a module names (body_file, *_file credentials, http_headers and websocket
// headers files). The exporter re-reads them for every probe so that rotated secrets are picked
// up without a reload; sonde does the same. Synchronous: these are small local files.

#include <string>

#include "prober/core/result.hpp"

namespace sonde::modules {

// The whole file. The error reads as Go's os.ReadFile: "open <path>: no such file or directory".
Result<std::string> read_whole_file(const std::string& path);

// The file with leading and trailing white space removed, as prometheus/common's FileSecret and
// header files are read (strings.TrimSpace).
Result<std::string> read_trimmed_file(const std::string& path);

// strings.TrimSpace over ASCII white space.
std::string trim_space(std::string text);

}  // namespace sonde::modules

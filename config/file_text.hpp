#pragma once

// Reading a whole file (configs, certificates, kubeconfigs, tokens): one reader, and each caller
// words the failure as its messages always have.

#include <string>

namespace sonde::config {

struct FileText {
    bool ok = false;
    std::string bytes;      // the whole file when ok
    const char* step = "";  // else what failed: "open" or "read"
    std::string reason;     // and errno's text ("No such file or directory")
};

FileText read_file_text(const std::string& path);

}  // namespace sonde::config

#include "config/file_text.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sonde::config {

FileText read_file_text(const std::string& path) {
    FileText text;
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        text.step = "open";
        text.reason = std::strerror(errno);
        return text;
    }
    std::ostringstream bytes;
    bytes << file.rdbuf();
    if (file.bad()) {
        text.step = "read";
        text.reason = std::strerror(errno);
        return text;
    }
    text.ok = true;
    text.bytes = std::move(bytes).str();
    return text;
}

}  // namespace sonde::config

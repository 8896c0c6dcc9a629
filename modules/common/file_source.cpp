#include "modules/common/file_source.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace sonde::modules {

Result<std::string> read_whole_file(const std::string& path) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        // Go spells errno texts in lower case ("no such file or directory").
        std::string reason = errno != 0 ? std::strerror(errno) : "cannot open file";
        if (!reason.empty()) {
            reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
        }
        return unexpected("open " + path + ": " + reason);
    }
    std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) {
        return unexpected("read " + path + ": input/output error");
    }
    return data;
}

std::string trim_space(std::string text) {
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    std::size_t begin = 0;
    while (begin < text.size() && is_space(text[begin])) {
        ++begin;
    }
    std::size_t end = text.size();
    while (end > begin && is_space(text[end - 1])) {
        --end;
    }
    return text.substr(begin, end - begin);
}

Result<std::string> read_trimmed_file(const std::string& path) {
    auto data = read_whole_file(path);
    if (!data) {
        return data;
    }
    return trim_space(std::move(*data));
}

}  // namespace sonde::modules

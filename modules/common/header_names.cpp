#include "modules/common/header_names.hpp"

#include <cctype>

namespace sonde::modules {
namespace {

// RFC 7230 tchar.
bool is_token_char(unsigned char c) {
    if (std::isalnum(c) != 0) {
        return true;
    }
    static constexpr std::string_view kOthers = "!#$%&'*+-.^_`|~";
    return kOthers.find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string canonical_header_key(std::string_view name) {
    for (const char c : name) {
        if (!is_token_char(static_cast<unsigned char>(c))) {
            return std::string(name);
        }
    }
    std::string out(name);
    bool upper = true;
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        c = static_cast<char>(upper ? std::toupper(u) : std::tolower(u));
        upper = c == '-';
    }
    return out;
}

}  // namespace sonde::modules

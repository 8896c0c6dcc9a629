#include "modules/common/regex_expand.hpp"

#include <cctype>
#include <map>

namespace sonde::modules {
namespace {

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Finds the group text for a reference name; empty when there is no such group.
std::string_view group_text(const re2::RE2& re, std::string_view name,
                            const std::vector<re2::StringPiece>& groups) {
    bool numeric = !name.empty();
    std::size_t index = 0;
    for (const char c : name) {
        if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
            numeric = false;
            break;
        }
        index = index * 10 + static_cast<std::size_t>(c - '0');
        if (index > groups.size()) {
            break;  // out of range anyway; avoids overflow on absurd numbers
        }
    }
    if (!numeric) {
        const auto& names = re.NamedCapturingGroups();
        const auto it = names.find(std::string(name));
        if (it == names.end()) {
            return {};
        }
        index = static_cast<std::size_t>(it->second);
    }
    if (index >= groups.size() || groups[index].data() == nullptr) {
        return {};
    }
    return {groups[index].data(), groups[index].size()};
}

}  // namespace

std::string regex_expand(const re2::RE2& re, std::string_view tmpl,
                         const std::vector<re2::StringPiece>& groups) {
    std::string out;
    out.reserve(tmpl.size());
    std::size_t i = 0;
    while (i < tmpl.size()) {
        const char c = tmpl[i];
        if (c != '$' || i + 1 >= tmpl.size()) {
            out += c;
            ++i;
            continue;
        }
        const char next = tmpl[i + 1];
        if (next == '$') {
            out += '$';
            i += 2;
            continue;
        }
        std::string_view name;
        std::size_t consumed = 0;
        if (next == '{') {
            const auto close = tmpl.find('}', i + 2);
            if (close != std::string_view::npos && close > i + 2) {
                name = tmpl.substr(i + 2, close - (i + 2));
                bool valid = true;
                for (const char n : name) {
                    valid = valid && is_name_char(n);
                }
                consumed = valid ? close + 1 - i : 0;
            }
        } else {
            std::size_t end = i + 1;
            while (end < tmpl.size() && is_name_char(tmpl[end])) {
                ++end;
            }
            if (end > i + 1) {
                name = tmpl.substr(i + 1, end - (i + 1));
                consumed = end - i;
            }
        }
        if (consumed == 0) {
            out += '$';  // malformed reference: the `$` is literal text
            ++i;
            continue;
        }
        out += group_text(re, name, groups);
        i += consumed;
    }
    return out;
}

std::optional<std::vector<re2::StringPiece>> find_submatches(const re2::RE2& re,
                                                             std::string_view text) {
    std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re.NumberOfCapturingGroups()) +
                                         1);
    const re2::StringPiece subject(text.data(), text.size());
    if (!re.Match(subject, 0, subject.size(), re2::RE2::UNANCHORED, groups.data(),
                  static_cast<int>(groups.size()))) {
        return std::nullopt;
    }
    return groups;
}

}  // namespace sonde::modules

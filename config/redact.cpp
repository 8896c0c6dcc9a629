#include "config/redact.hpp"

namespace sonde::config {

std::string redact_url(std::string_view url) {
    // The authority runs from after "//" to the first '/', '?' or '#'; its userinfo ends at the
    // last '@' in it, and the password starts after the userinfo's first ':'.
    const std::size_t slashes = url.find("//");
    const std::size_t start = slashes == std::string_view::npos ? 0 : slashes + 2;
    std::size_t end = url.find_first_of("/?#", start);
    if (end == std::string_view::npos) {
        end = url.size();
    }
    const std::string_view authority = url.substr(start, end - start);
    const std::size_t at = authority.rfind('@');
    if (at == std::string_view::npos) {
        return std::string(url);
    }
    const std::size_t colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos) {
        return std::string(url);
    }
    return std::string(url.substr(0, start + colon + 1)) + "xxxxx" +
           std::string(url.substr(start + at));
}

std::string redact_url_in(std::string text, std::string_view url) {
    const std::string redacted = redact_url(url);
    if (url.empty() || redacted == url) {
        return text;
    }
    for (std::size_t at = text.find(url); at != std::string::npos;
         at = text.find(url, at + redacted.size())) {
        text.replace(at, url.size(), redacted);
    }
    return text;
}

}  // namespace sonde::config

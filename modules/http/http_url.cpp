#include "modules/http/http_url.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <vector>

#include "config/ascii.hpp"

namespace sonde::modules::http {
namespace {

bool istarts_with(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
            return false;
        }
    }
    return true;
}

Error parse_error(std::string_view url, std::string_view reason) {
    return unexpected("parse \"" + std::string(url) + "\": " + std::string(reason));
}

// The scheme of a reference (RFC 3986 §3.1), empty when it has none. "a:b" has scheme "a";
// "/a:b" and "1a:b" have none, as in Go's getScheme.
std::string_view scheme_of(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (std::isalpha(c) != 0) {
            continue;
        }
        if (i > 0 && (std::isdigit(c) != 0 || c == '+' || c == '-' || c == '.')) {
            continue;
        }
        if (c == ':' && i > 0) {
            return text.substr(0, i);
        }
        return {};
    }
    return {};
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// Characters Go's url package accepts in a host name (shouldEscape with encodeHost): unreserved,
// sub-delims, ':' and the brackets, '%' escapes, and any non-ASCII byte (IDNs pass through).
bool valid_host_character(unsigned char c) {
    if (std::isalnum(c) != 0 || c >= 0x80) {
        return true;
    }
    static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:[]<>\"%";
    return kAllowed.find(static_cast<char>(c)) != std::string_view::npos;
}

bool all_digits(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

// Splits "host[:port]" (the part of the authority after any userinfo) as Go's parseHost.
Result<HttpUrl> parse_host_port(std::string_view url, std::string_view hostport, HttpUrl out) {
    std::string_view host = hostport;
    std::string_view port_part;
    if (!hostport.empty() && hostport.front() == '[') {
        const auto close = hostport.find(']');
        if (close == std::string_view::npos) {
            return parse_error(url, "missing ']' in host");
        }
        host = hostport.substr(1, close - 1);
        port_part = hostport.substr(close + 1);
        if (!port_part.empty() && port_part.front() != ':') {
            return parse_error(url, "invalid port \"" + std::string(port_part) + "\" after host");
        }
    } else {
        const auto colon = hostport.rfind(':');
        if (colon != std::string_view::npos) {
            host = hostport.substr(0, colon);
            port_part = hostport.substr(colon);
        }
    }
    if (!port_part.empty() && !all_digits(port_part.substr(1))) {
        return parse_error(url, "invalid port \"" + std::string(port_part) + "\" after host");
    }
    for (const char c : host) {
        if (!valid_host_character(static_cast<unsigned char>(c))) {
            return parse_error(url, "invalid character \"" + std::string(1, c) + "\" in host name");
        }
    }
    out.host = std::string(host);
    out.port = port_part.empty() ? std::string() : std::string(port_part.substr(1));
    return out;
}

// Parses "//authority/path?query" (the fragment already removed) into out.
Result<HttpUrl> parse_hierarchical(std::string_view url, std::string_view rest, HttpUrl out) {
    const auto question = rest.find('?');
    if (question != std::string_view::npos) {
        out.query = std::string(rest.substr(question + 1));
        out.force_query = out.query.empty();
        rest = rest.substr(0, question);
    }
    rest.remove_prefix(2);  // "//"
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    out.path = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash));
    const auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
        out.userinfo = std::string(authority.substr(0, at));
        authority = authority.substr(at + 1);
    }
    auto parsed = parse_host_port(url, authority, std::move(out));
    if (!parsed) {
        return parsed;
    }
    if (parsed->host.empty()) {
        // Go parses "http:///x" and then its client refuses the request with this text.
        return unexpected("http: no Host in request URL");
    }
    return parsed;
}

// RFC 3986 §5.2.4, as Go's resolvePath: the result starts with '/', and a trailing "." or ".."
// segment leaves a trailing slash.
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> out;
    bool trailing_slash = false;
    std::size_t start = path.empty() || path.front() != '/' ? 0 : 1;
    while (start <= path.size()) {
        const auto end = std::min(path.find('/', start), path.size());
        const std::string_view segment = path.substr(start, end - start);
        const bool last = end == path.size();
        if (segment == ".") {
            trailing_slash = last;
        } else if (segment == "..") {
            if (!out.empty()) {
                out.pop_back();
            }
            trailing_slash = last;
        } else {
            out.push_back(segment);
            trailing_slash = false;
        }
        start = end + 1;
    }
    std::string result;
    for (const auto segment : out) {
        result += '/';
        result += segment;
    }
    if (trailing_slash || result.empty()) {
        result += '/';
    }
    return result;
}

}  // namespace

std::uint16_t HttpUrl::effective_port() const {
    if (port.empty()) {
        return is_https() ? 443 : 80;
    }
    unsigned value = 0;
    for (const char c : port) {
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > 65535) {
            return 0;  // unusable; the connect step reports it
        }
    }
    return static_cast<std::uint16_t>(value);
}

std::string HttpUrl::authority() const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (!port.empty()) {
        out += ":" + port;
    }
    return out;
}

std::string HttpUrl::request_target() const {
    std::string out = path.empty() ? "/" : path;
    if (!query.empty() || force_query) {
        out += "?" + query;
    }
    return out;
}

std::string HttpUrl::to_string() const {
    std::string out = scheme + "://";
    if (!userinfo.empty()) {
        out += userinfo + "@";
    }
    // As Go's URL.String(): an empty path stays empty before a query ("http://h?q"), unlike
    // the request-target, which needs the "/".
    out += authority() + path;
    if (!query.empty() || force_query) {
        out += "?" + query;
    }
    return out;
}

Result<HttpUrl> parse_http_url(std::string_view text) {
    if (has_control_character(text)) {
        return parse_error(text, "net/url: invalid control character in URL");
    }
    const std::string_view url = text;
    if (const auto hash = text.find('#'); hash != std::string_view::npos) {
        text = text.substr(0, hash);
    }
    const std::string_view scheme = scheme_of(text);
    if (scheme.empty()) {
        if (!text.empty() && text.front() == ':') {
            return parse_error(url, "missing protocol scheme");
        }
        return unexpected("unsupported protocol scheme \"\"");
    }
    HttpUrl out;
    out.scheme = config::ascii_lower(scheme);
    if (out.scheme != "http" && out.scheme != "https") {
        return unexpected("unsupported protocol scheme \"" + out.scheme + "\"");
    }
    const std::string_view rest = text.substr(scheme.size() + 1);
    if (rest.substr(0, 2) != "//") {
        return unexpected("http: no Host in request URL");
    }
    return parse_hierarchical(url, rest, std::move(out));
}

Result<HttpUrl> normalise_target(std::string_view target) {
    if (istarts_with(target, "http://") || istarts_with(target, "https://")) {
        return parse_http_url(target);
    }
    const std::string_view scheme = scheme_of(target);
    if (!scheme.empty() && target.substr(scheme.size(), 3) == "://") {
        return unexpected("unsupported protocol scheme \"" + config::ascii_lower(scheme) + "\"");
    }
    return parse_http_url("http://" + std::string(target));
}

bool is_relative_reference(std::string_view location) {
    return scheme_of(location).empty();
}

Result<HttpUrl> resolve_location(const HttpUrl& base, std::string_view location) {
    if (has_control_character(location)) {
        return parse_error(location, "net/url: invalid control character in URL");
    }
    std::string_view ref = location;
    if (const auto hash = ref.find('#'); hash != std::string_view::npos) {
        ref = ref.substr(0, hash);
    }
    if (!scheme_of(ref).empty()) {
        return parse_http_url(ref);
    }
    if (!ref.empty() && ref.front() == ':') {
        return parse_error(location, "missing protocol scheme");
    }
    if (ref.substr(0, 2) == "//") {
        HttpUrl out;
        out.scheme = base.scheme;
        auto parsed = parse_hierarchical(location, ref, std::move(out));
        if (parsed && !parsed->path.empty()) {
            parsed->path = remove_dot_segments(parsed->path);
        }
        return parsed;
    }
    HttpUrl out = base;
    std::string_view ref_path = ref;
    out.query.clear();
    out.force_query = false;
    if (const auto question = ref.find('?'); question != std::string_view::npos) {
        out.query = std::string(ref.substr(question + 1));
        out.force_query = out.query.empty();
        ref_path = ref.substr(0, question);
    } else if (ref.empty()) {
        out.query = base.query;
        out.force_query = base.force_query;
    }
    if (ref_path.empty()) {
        out.path = base.path;
        return out;
    }
    std::string full;
    if (ref_path.front() == '/') {
        full = std::string(ref_path);
    } else {
        const auto last = base.path.rfind('/');
        full = (last == std::string::npos ? std::string() : base.path.substr(0, last + 1)) +
               std::string(ref_path);
    }
    out.path = remove_dot_segments(full);
    return out;
}

}  // namespace sonde::modules::http

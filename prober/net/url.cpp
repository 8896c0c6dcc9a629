#include "prober/net/url.hpp"

#include <cctype>

#include "prober/net/http_request.hpp"

namespace sonde::net {
namespace {

bool is_alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// Go's shouldEscape(c, encodePath).
bool path_should_escape(char c) {
    if (is_alnum(c)) {
        return false;
    }
    switch (c) {
        case '-':
        case '_':
        case '.':
        case '~':
        case '$':
        case '&':
        case '+':
        case ',':
        case '/':
        case ':':
        case ';':
        case '=':
        case '@':
            return false;
        default:
            return true;
    }
}

// Go's validEncoded(s, encodePath): may s go on the wire as it is?
bool valid_encoded_path(std::string_view s) {
    for (const char c : s) {
        switch (c) {
            case '!':
            case '$':
            case '&':
            case '\'':
            case '(':
            case ')':
            case '*':
            case '+':
            case ',':
            case ';':
            case '=':
            case ':':
            case '@':
            case '[':
            case ']':
            case '%':
                break;
            default:
                if (path_should_escape(c)) {
                    return false;
                }
        }
    }
    return true;
}

// Go's shouldEscape(c, encodeHost) for ASCII: characters a host may not hold.
bool host_char_invalid(char c) {
    if (static_cast<unsigned char>(c) >= 0x80 || is_alnum(c)) {
        return false;
    }
    switch (c) {
        case '-':
        case '_':
        case '.':
        case '~':
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '[':
        case ']':
        case '<':
        case '>':
        case '"':
        case '%':
            return false;
        default:
            return true;
    }
}

bool valid_userinfo(std::string_view s) {
    for (const char c : s) {
        if (is_alnum(c)) {
            continue;
        }
        switch (c) {
            case '-':
            case '.':
            case '_':
            case ':':
            case '~':
            case '!':
            case '$':
            case '&':
            case '\'':
            case '(':
            case ')':
            case '*':
            case '+':
            case ',':
            case ';':
            case '=':
            case '%':
            case '@':
                continue;
            default:
                return false;
        }
    }
    return true;
}

// Go's validOptionalPort: "" or ':' followed by digits only.
bool valid_optional_port(std::string_view port) {
    if (port.empty()) {
        return true;
    }
    if (port[0] != ':') {
        return false;
    }
    for (const char c : port.substr(1)) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

Result<std::string> parse_host(std::string_view host) {
    if (!host.empty() && host[0] == '[') {
        const auto close = host.rfind(']');
        if (close == std::string_view::npos) {
            return unexpected("missing ']' in host");
        }
        const std::string_view colon_port = host.substr(close + 1);
        if (!valid_optional_port(colon_port)) {
            return unexpected("invalid port " + go_quote(colon_port) + " after host");
        }
    } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        const std::string_view colon_port = host.substr(colon);
        if (!valid_optional_port(colon_port)) {
            return unexpected("invalid port " + go_quote(colon_port) + " after host");
        }
    }
    for (const char c : host) {
        if (host_char_invalid(c)) {
            return unexpected("invalid character " + go_quote(std::string_view(&c, 1)) +
                              " in host name");
        }
    }
    // Escapes in host names are legal but rare; they are kept as written, as Go's URL.Host
    // would show them after its round trip through String().
    return std::string(host);
}

void set_path(Url& url, std::string_view raw) {
    url.escaped_path = valid_encoded_path(raw) ? std::string(raw) : escape_path(url.path);
}

// Go's resolvePath: merges and removes dot segments, always returning a rooted path.
std::string resolve_path(std::string_view base, std::string_view ref) {
    std::string full;
    if (ref.empty()) {
        full = std::string(base);
    } else if (ref[0] != '/') {
        const auto slash = base.rfind('/');
        full = std::string(slash == std::string_view::npos ? std::string_view{}
                                                           : base.substr(0, slash + 1));
        full += ref;
    } else {
        full = std::string(ref);
    }
    if (full.empty()) {
        return {};
    }
    std::string dst = "/";
    bool first = true;
    std::string_view remaining = full;
    std::string_view elem;
    bool found = true;
    while (found) {
        const auto slash = remaining.find('/');
        found = slash != std::string_view::npos;
        elem = found ? remaining.substr(0, slash) : remaining;
        remaining = found ? remaining.substr(slash + 1) : std::string_view{};
        if (elem == ".") {
            first = false;
            continue;
        }
        if (elem == "..") {
            const std::string str = dst.substr(1);
            const auto index = str.rfind('/');
            dst = "/";
            if (index == std::string::npos) {
                first = true;
            } else {
                dst += str.substr(0, index);
            }
        } else {
            if (!first) {
                dst += '/';
            }
            dst += elem;
            first = false;
        }
    }
    if (elem == "." || elem == "..") {
        dst += '/';
    }
    if (dst.size() > 1 && dst[1] == '/') {
        dst.erase(0, 1);
    }
    return dst;
}

Result<Url> parse_without_fragment(std::string_view raw) {
    for (const char c : raw) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return unexpected("net/url: invalid control character in URL");
        }
    }
    Url url;
    if (raw == "*") {
        url.path = "*";
        url.escaped_path = "*";
        return url;
    }
    // Go's getScheme.
    std::string_view rest = raw;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
            continue;
        }
        if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
            if (i == 0) {
                break;
            }
            continue;
        }
        if (c == ':') {
            if (i == 0) {
                return unexpected("missing protocol scheme");
            }
            for (std::size_t j = 0; j < i; ++j) {
                url.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(raw[j])));
            }
            rest = raw.substr(i + 1);
        }
        break;
    }
    const auto question = rest.find('?');
    if (question != std::string_view::npos && question == rest.size() - 1) {
        url.force_query = true;
        rest = rest.substr(0, question);
    } else if (question != std::string_view::npos) {
        url.raw_query = std::string(rest.substr(question + 1));
        rest = rest.substr(0, question);
    }
    if (rest.empty() || rest[0] != '/') {
        if (!url.scheme.empty()) {
            url.opaque = std::string(rest);
            return url;
        }
        const std::string_view segment = rest.substr(0, rest.find('/'));
        if (segment.find(':') != std::string_view::npos) {
            return unexpected("first path segment in URL cannot contain colon");
        }
    }
    if (rest.substr(0, 2) == "//" && (!url.scheme.empty() || rest.substr(0, 3) != "///")) {
        std::string_view authority = rest.substr(2);
        rest = {};
        if (const auto slash = authority.find('/'); slash != std::string_view::npos) {
            rest = authority.substr(slash);
            authority = authority.substr(0, slash);
        }
        std::string_view host_part = authority;
        if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
            const std::string_view userinfo = authority.substr(0, at);
            host_part = authority.substr(at + 1);
            if (!valid_userinfo(userinfo)) {
                return unexpected("net/url: invalid userinfo");
            }
            UrlUserinfo user;
            const auto colon = userinfo.find(':');
            auto name = path_unescape(userinfo.substr(0, colon));
            if (!name) {
                return unexpected(name.error());
            }
            user.username = std::move(*name);
            if (colon != std::string_view::npos) {
                auto password = path_unescape(userinfo.substr(colon + 1));
                if (!password) {
                    return unexpected(password.error());
                }
                user.password = std::move(*password);
            }
            url.user = std::move(user);
        }
        auto host = parse_host(host_part);
        if (!host) {
            return unexpected(host.error());
        }
        url.host = std::move(*host);
    }
    auto path = path_unescape(rest);
    if (!path) {
        return unexpected(path.error());
    }
    url.path = std::move(*path);
    set_path(url, rest);
    return url;
}

}  // namespace

std::string escape_path(std::string_view path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size());
    for (const char c : path) {
        if (path_should_escape(c)) {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0f];
        } else {
            out += c;
        }
    }
    return out;
}

Result<Url> parse_url(std::string_view text) {
    const auto hash = text.find('#');
    const std::string_view without = text.substr(0, hash);
    auto url = parse_without_fragment(without);
    if (!url) {
        return unexpected("parse " + go_quote(without) + ": " + url.error());
    }
    if (hash != std::string_view::npos) {
        auto fragment = path_unescape(text.substr(hash + 1));
        if (!fragment) {
            return unexpected("parse " + go_quote(text) + ": " + fragment.error());
        }
        url->fragment = std::move(*fragment);
    }
    return url;
}

std::string Url::hostname() const {
    std::string_view h = host;
    if (!h.empty() && h[0] == '[') {
        const auto close = h.find(']');
        return std::string(h.substr(1, close == std::string_view::npos ? h.npos : close - 1));
    }
    const auto colon = h.rfind(':');
    return std::string(h.substr(0, colon));
}

std::string Url::port() const {
    std::string_view h = host;
    if (!h.empty() && h[0] == '[') {
        const auto close = h.find(']');
        h = close == std::string_view::npos ? std::string_view{} : h.substr(close + 1);
    }
    const auto colon = h.rfind(':');
    return colon == std::string_view::npos ? std::string() : std::string(h.substr(colon + 1));
}

std::string Url::request_uri() const {
    std::string result = opaque;
    if (result.empty()) {
        result = escaped_path.empty() ? "/" : escaped_path;
    } else if (result.rfind("//", 0) == 0) {
        result = scheme + ":" + result;
    }
    if (force_query || !raw_query.empty()) {
        result += "?" + raw_query;
    }
    return result;
}

std::string Url::to_string() const {
    std::string out;
    if (!scheme.empty()) {
        out += scheme + ":";
    }
    if (!opaque.empty()) {
        out += opaque;
    } else {
        if (!scheme.empty() || !host.empty() || user) {
            out += "//";
            if (user) {
                out += user->username;
                if (user->password) {
                    out += ":" + *user->password;
                }
                out += "@";
            }
            out += host;
        }
        if (!escaped_path.empty() && escaped_path[0] != '/' && !host.empty()) {
            out += '/';
        }
        out += escaped_path;
    }
    if (force_query || !raw_query.empty()) {
        out += "?" + raw_query;
    }
    if (!fragment.empty()) {
        out += "#" + escape_path(fragment);
    }
    return out;
}

Url resolve_reference(const Url& base, const Url& ref) {
    Url url = ref;
    if (ref.scheme.empty()) {
        url.scheme = base.scheme;
    }
    auto set_resolved = [&url](std::string_view base_path, std::string_view ref_path) {
        const std::string resolved = resolve_path(base_path, ref_path);
        auto decoded = path_unescape(resolved);
        url.path = decoded ? std::move(*decoded) : resolved;
        set_path(url, resolved);
    };
    if (!ref.scheme.empty() || !ref.host.empty() || ref.user) {
        // The reference is absolute or network-path: only its dot segments are resolved.
        set_resolved(ref.escaped_path, "");
        return url;
    }
    if (!ref.opaque.empty()) {
        url.user.reset();
        url.host.clear();
        url.path.clear();
        url.escaped_path.clear();
        return url;
    }
    if (ref.path.empty() && !ref.force_query && ref.raw_query.empty()) {
        url.raw_query = base.raw_query;
        if (ref.fragment.empty()) {
            url.fragment = base.fragment;
        }
    }
    url.host = base.host;
    url.user = base.user;
    set_resolved(base.escaped_path, ref.escaped_path);
    return url;
}

Result<Url> resolve_location(const Url& base, std::string_view location) {
    auto ref = parse_url(location);
    if (!ref) {
        return unexpected(ref.error());
    }
    return resolve_reference(base, *ref);
}

}  // namespace sonde::net

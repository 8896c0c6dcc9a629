#include "prober/net/http_request.hpp"

#include <cstdlib>

#include "config/ascii.hpp"

namespace sonde::net {
namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Go's unescape() for the query-component and path-segment modes, which differ only in '+'.
Result<std::string> unescape(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            const int hi = i + 1 < text.size() ? config::ascii_hex_value(text[i + 1]) : -1;
            const int lo = i + 2 < text.size() ? config::ascii_hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                // Go quotes at most the three bytes of the would-be escape.
                return unexpected("invalid URL escape \"" + std::string(text.substr(i, 3)) + "\"");
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// The q value of one Accept-Encoding element ("gzip;q=0.5"); 1 when absent, 0 if unparsable.
double quality(std::string_view params) {
    while (!params.empty()) {
        const auto semi = params.find(';');
        auto param = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
        if (param.size() >= 2 && lower(param[0]) == 'q' && param[1] == '=') {
            const std::string number(trim(param.substr(2)));
            char* end = nullptr;
            const double q = std::strtod(number.c_str(), &end);
            return (end != nullptr && *end == '\0' && !number.empty()) ? q : 0.0;
        }
    }
    return 1.0;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

void HttpHeaders::add(std::string name, std::string value) {
    fields_.push_back({std::move(name), std::move(value)});
}

void HttpHeaders::set(std::string_view name, std::string value) {
    remove(name);
    fields_.push_back({std::string(name), std::move(value)});
}

void HttpHeaders::remove(std::string_view name) {
    std::erase_if(fields_, [name](const Field& f) { return iequals(f.name, name); });
}

const std::string* HttpHeaders::find(std::string_view name) const {
    for (const auto& field : fields_) {
        if (iequals(field.name, name)) {
            return &field.value;
        }
    }
    return nullptr;
}

std::string HttpHeaders::joined(std::string_view name) const {
    std::string out;
    for (const auto& field : fields_) {
        if (iequals(field.name, name)) {
            if (!out.empty()) {
                out += ", ";
            }
            out += field.value;
        }
    }
    return out;
}

void QueryParams::add(std::string key, std::string value) {
    params_.push_back({std::move(key), std::move(value)});
}

const std::string* QueryParams::get(std::string_view key) const {
    for (const auto& param : params_) {
        if (param.key == key) {
            return &param.value;
        }
    }
    return nullptr;
}

std::vector<std::string> QueryParams::all(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto& param : params_) {
        if (param.key == key) {
            out.push_back(param.value);
        }
    }
    return out;
}

Result<std::string> query_unescape(std::string_view text) {
    return unescape(text, true);
}

Result<std::string> path_unescape(std::string_view text) {
    return unescape(text, false);
}

Result<QueryParams> parse_query(std::string_view raw) {
    QueryParams params;
    while (!raw.empty()) {
        const auto amp = raw.find('&');
        const std::string_view pair = raw.substr(0, amp);
        raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
        if (pair.find(';') != std::string_view::npos) {
            return unexpected("invalid semicolon separator in query");
        }
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        auto key = query_unescape(pair.substr(0, eq));
        if (!key) {
            return Error{key.error()};
        }
        auto value =
            query_unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!value) {
            return Error{value.error()};
        }
        params.add(std::move(*key), std::move(*value));
    }
    return params;
}

bool HttpRequest::accepts_gzip() const {
    const std::string header_value = headers.joined("accept-encoding");
    std::string_view list = header_value;
    double gzip_q = -1.0;
    double star_q = -1.0;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view element = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        const auto semi = element.find(';');
        const std::string_view coding = trim(element.substr(0, semi));
        const double q = semi == std::string_view::npos ? 1.0 : quality(element.substr(semi + 1));
        if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
            gzip_q = q;
        } else if (coding == "*") {
            star_q = q;
        }
    }
    return gzip_q > 0.0 || (gzip_q < 0.0 && star_q > 0.0);
}

Result<SplitTarget> split_target(std::string_view target) {
    if (target == "*") {
        return SplitTarget{"*", ""};
    }
    std::string_view rest = target;
    for (std::string_view scheme : {"http://", "https://"}) {
        if (rest.size() >= scheme.size() && iequals(rest.substr(0, scheme.size()), scheme)) {
            // absolute-form: the authority is the Host; only path and query matter here.
            rest.remove_prefix(scheme.size());
            const auto slash = rest.find_first_of("/?");
            rest = slash == std::string_view::npos ? std::string_view{"/"} : rest.substr(slash);
            if (!rest.empty() && rest.front() == '?') {
                return SplitTarget{"/", std::string(rest.substr(1))};
            }
            break;
        }
    }
    if (rest.empty() || rest.front() != '/') {
        return unexpected("invalid request target \"" + std::string(target) + "\"");
    }
    const auto question = rest.find('?');
    auto path = path_unescape(rest.substr(0, question));
    if (!path) {
        return Error{path.error()};
    }
    std::string query =
        question == std::string_view::npos ? std::string{} : std::string(rest.substr(question + 1));
    return SplitTarget{std::move(*path), std::move(query)};
}

}  // namespace sonde::net

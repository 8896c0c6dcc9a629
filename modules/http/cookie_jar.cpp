#include "modules/http/cookie_jar.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/ascii.hpp"
#include "modules/common/file_source.hpp"
#include "modules/http/http_date.hpp"
#include "prober/net/ip_address.hpp"

namespace sonde::modules::http {
namespace {

bool valid_name(std::string_view name) {
    static constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={} \t";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f && kSeparators.find(c) == std::string_view::npos;
    });
}

// Go's defaultPath (RFC 6265 §5.1.4).
std::string default_path(const std::string& path) {
    if (path.empty() || path.front() != '/') {
        return "/";
    }
    const auto last = path.rfind('/');
    return last == 0 ? "/" : path.substr(0, last);
}

bool path_match(const std::string& request_path, const std::string& cookie_path) {
    if (request_path == cookie_path) {
        return true;
    }
    if (request_path.rfind(cookie_path, 0) != 0) {
        return false;
    }
    return cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
}

bool has_dot_suffix(const std::string& host, const std::string& suffix) {
    return host.size() > suffix.size() &&
           host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0 &&
           host[host.size() - suffix.size() - 1] == '.';
}

bool is_ip(const std::string& host) {
    return net::IpAddress::parse(host).has_value();
}

// jar.domainAndType: the cookie's domain and whether it is host-only; nullopt when the Domain
// attribute is not allowed for host.
std::optional<std::pair<std::string, bool>> domain_and_type(const std::string& host,
                                                            std::string domain) {
    if (domain.empty()) {
        return std::pair{host, true};
    }
    if (is_ip(host)) {
        if (host != domain) {
            return std::nullopt;
        }
        return std::pair{host, true};
    }
    if (domain.front() == '.') {
        domain.erase(0, 1);
    }
    if (domain.empty() || domain.front() == '.' || domain.back() == '.') {
        return std::nullopt;
    }
    domain = config::ascii_lower(domain);
    // Stand-in for the public suffix list: a single label is a public suffix.
    if (domain.find('.') == std::string::npos) {
        if (host == domain) {
            return std::pair{host, true};
        }
        return std::nullopt;
    }
    if (host != domain && !has_dot_suffix(host, domain)) {
        return std::nullopt;
    }
    return std::pair{domain, false};
}

}  // namespace

void CookieJar::store(Entry entry, bool remove) {
    const auto same = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
        return e.name == entry.name && e.domain == entry.domain && e.path == entry.path;
    });
    if (remove) {
        if (same != entries_.end()) {
            entries_.erase(same);
        }
        return;
    }
    if (same != entries_.end()) {
        entry.seq = same->seq;  // Go keeps the creation time of a replaced cookie
        *same = std::move(entry);
        return;
    }
    entry.seq = next_seq_++;
    entries_.push_back(std::move(entry));
}

void CookieJar::set_cookies(const HttpUrl& url, const std::vector<std::string>& set_cookie,
                            std::int64_t now) {
    const std::string host = config::ascii_lower(url.host);
    for (const std::string& line : set_cookie) {
        std::vector<std::string> parts;
        std::size_t start = 0;
        while (start <= line.size()) {
            const auto end = std::min(line.find(';', start), line.size());
            parts.push_back(trim_space(line.substr(start, end - start)));
            start = end + 1;
        }
        const auto eq = parts.front().find('=');
        if (eq == std::string::npos) {
            continue;
        }
        Entry entry;
        entry.name = trim_space(parts.front().substr(0, eq));
        entry.value = trim_space(parts.front().substr(eq + 1));
        if (entry.value.size() >= 2 && entry.value.front() == '"' && entry.value.back() == '"') {
            entry.value = entry.value.substr(1, entry.value.size() - 2);
        }
        if (!valid_name(entry.name)) {
            continue;
        }
        std::string domain_attr;
        std::string path_attr;
        std::optional<std::int64_t> max_age;
        std::optional<std::int64_t> expires;
        for (std::size_t i = 1; i < parts.size(); ++i) {
            const auto aeq = parts[i].find('=');
            const std::string key = config::ascii_lower(trim_space(parts[i].substr(0, aeq)));
            const std::string value =
                aeq == std::string::npos ? "" : trim_space(parts[i].substr(aeq + 1));
            if (key == "domain") {
                domain_attr = value;
            } else if (key == "path") {
                path_attr = value;
            } else if (key == "secure") {
                entry.secure = true;
            } else if (key == "max-age") {
                std::int64_t seconds = 0;
                const auto [ptr, ec] =
                    std::from_chars(value.data(), value.data() + value.size(), seconds);
                if (ec == std::errc{} && ptr == value.data() + value.size() && !value.empty() &&
                    (value.front() != '0' || value.size() == 1)) {
                    max_age = seconds;
                }
            } else if (key == "expires") {
                expires = parse_http_date(value);
            }
        }
        const auto domain = domain_and_type(host, config::ascii_lower(domain_attr));
        if (!domain) {
            continue;
        }
        entry.domain = domain->first;
        entry.host_only = domain->second;
        entry.path =
            !path_attr.empty() && path_attr.front() == '/' ? path_attr : default_path(url.path);
        bool remove = false;
        if (max_age) {
            remove = *max_age <= 0;
            entry.expires = now + *max_age;
        } else if (expires) {
            remove = *expires <= now;
            entry.expires = expires;
        }
        store(std::move(entry), remove);
    }
}

std::string CookieJar::cookie_header(const HttpUrl& url, std::int64_t now) const {
    const std::string host = config::ascii_lower(url.host);
    const std::string path = url.path.empty() ? "/" : url.path;
    std::vector<const Entry*> matched;
    for (const Entry& e : entries_) {
        const bool host_ok = host == e.domain || (!e.host_only && has_dot_suffix(host, e.domain));
        if (!host_ok || !path_match(path, e.path) || (e.secure && !url.is_https()) ||
            (e.expires && *e.expires <= now)) {
            continue;
        }
        matched.push_back(&e);
    }
    std::stable_sort(matched.begin(), matched.end(), [](const Entry* a, const Entry* b) {
        if (a->path.size() != b->path.size()) {
            return a->path.size() > b->path.size();
        }
        return a->seq < b->seq;
    });
    std::string out;
    for (const Entry* e : matched) {
        out += (out.empty() ? "" : "; ") + e->name + "=" + e->value;
    }
    return out;
}

}  // namespace sonde::modules::http

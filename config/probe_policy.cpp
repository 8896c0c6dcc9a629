#include "config/probe_policy.hpp"

#include <algorithm>
#include <charconv>

#include <arpa/inet.h>
#include <sys/socket.h>

namespace sonde::config {
namespace {

// Raw bytes of an IP literal (4 or 16), or nullopt.
std::optional<std::string> literal_bytes(std::string_view text) {
    const std::string copy(text);
    unsigned char buffer[16] = {};
    if (inet_pton(AF_INET, copy.c_str(), buffer) == 1) {
        return std::string(reinterpret_cast<const char*>(buffer), 4);
    }
    if (inet_pton(AF_INET6, copy.c_str(), buffer) == 1) {
        return std::string(reinterpret_cast<const char*>(buffer), 16);
    }
    return std::nullopt;
}

std::string address_text(std::string_view address) {
    char text[INET6_ADDRSTRLEN] = {};
    const int family = address.size() == 4 ? AF_INET : AF_INET6;
    if (inet_ntop(family, address.data(), text, sizeof text) == nullptr) {
        return "?";
    }
    return text;
}

// The forms an address is matched in: itself; an IPv4-mapped IPv6 address also as IPv4; an
// unspecified address (which connects to this host) also as loopback.
std::vector<std::string> address_forms(std::string_view address) {
    std::vector<std::string> forms{std::string(address)};
    if (address.size() == 16) {
        static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::equal(
                kMapped, kMapped + 12, address.begin(), address.begin() + 12,
                [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); })) {
            forms.emplace_back(address.substr(12));
        }
    }
    for (std::size_t i = 0, n = forms.size(); i < n; ++i) {
        const std::string form = forms[i];
        if (std::all_of(form.begin(), form.end(), [](char c) { return c == 0; })) {
            if (form.size() == 4) {
                forms.emplace_back(std::string("\x7f\0\0\x01", 4));
            } else {
                std::string loopback(16, '\0');
                loopback[15] = 1;
                forms.push_back(std::move(loopback));
            }
        }
    }
    return forms;
}

const Cidr* find_cidr(const std::vector<Cidr>& cidrs, const std::vector<std::string>& forms) {
    for (const Cidr& cidr : cidrs) {
        for (const std::string& form : forms) {
            if (cidr.contains(form)) {
                return &cidr;
            }
        }
    }
    return nullptr;
}

const HostPattern* find_pattern(const std::vector<HostPattern>& patterns, const std::string& host) {
    for (const HostPattern& pattern : patterns) {
        if (pattern.matches(host)) {
            return &pattern;
        }
    }
    return nullptr;
}

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

}  // namespace

bool Cidr::contains(std::string_view address) const {
    if (address.size() != (v6 ? 16U : 4U)) {
        return false;
    }
    const int full = prefix / 8;
    for (int i = 0; i < full; ++i) {
        if (static_cast<unsigned char>(address[static_cast<std::size_t>(i)]) !=
            bytes[static_cast<std::size_t>(i)]) {
            return false;
        }
    }
    const int rest = prefix % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (static_cast<unsigned char>(address[static_cast<std::size_t>(full)]) & mask) ==
           bytes[static_cast<std::size_t>(full)];
}

Result<Cidr> parse_cidr(std::string_view text) {
    const auto invalid = [&] { return unexpected("invalid CIDR " + quoted(text)); };
    const std::size_t slash = text.find('/');
    const auto address = literal_bytes(text.substr(0, slash));
    if (!address) {
        return invalid();
    }
    Cidr cidr;
    cidr.text = std::string(text);
    cidr.v6 = address->size() == 16;
    const int max_prefix = cidr.v6 ? 128 : 32;
    cidr.prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        int prefix = -1;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            prefix < 0 || prefix > max_prefix) {
            return invalid();
        }
        cidr.prefix = prefix;
    }
    for (std::size_t i = 0; i < address->size(); ++i) {
        const int bits = std::clamp(cidr.prefix - static_cast<int>(i) * 8, 0, 8);
        const auto mask = static_cast<unsigned char>(bits == 0 ? 0 : 0xff << (8 - bits));
        cidr.bytes[i] =
            static_cast<unsigned char>(static_cast<unsigned char>((*address)[i]) & mask);
    }
    return cidr;
}

std::string normalise_host(std::string_view host) {
    std::string out(host);
    if (!out.empty() && out.back() == '.') {
        out.pop_back();
    }
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

Result<HostPattern> parse_host_pattern(std::string_view text) {
    HostPattern pattern{normalise_host(text)};
    const std::string& p = pattern.text;
    const std::size_t star = p.find('*');
    const bool wildcard_ok =
        star == std::string::npos || p == "*" ||
        (star == 0 && p.size() > 2 && p[1] == '.' && p.find('*', 1) == std::string::npos);
    if (p.empty() || !wildcard_ok || p.find_first_of(" /:@") != std::string::npos) {
        return unexpected("invalid host pattern " + quoted(text) +
                          " (a name, \"*.\" followed by a name, or \"*\")");
    }
    return pattern;
}

bool HostPattern::matches(std::string_view host) const {
    if (text == "*") {
        return !host.empty();
    }
    if (text.starts_with("*.")) {
        const std::string_view suffix = std::string_view(text).substr(1);  // ".example.org"
        return host.size() > suffix.size() && host.ends_with(suffix);
    }
    return host == text;
}

const char* deny_reason_label(DenyReason reason) {
    switch (reason) {
        case DenyReason::DeniedHost:
            return "denied_host";
        case DenyReason::HostNotAllowed:
            return "host_not_allowed";
        case DenyReason::DeniedCidr:
            return "denied_cidr";
        case DenyReason::CidrNotAllowed:
            return "cidr_not_allowed";
    }
    return "unknown";
}

std::optional<PolicyDenial> ProbePolicy::check_host(std::string_view host) const {
    const std::string name = normalise_host(host);
    if (const HostPattern* pattern = find_pattern(deny_hosts, name)) {
        return PolicyDenial{
            DenyReason::DeniedHost,
            "host " + quoted(host) + " matches deny_hosts pattern " + quoted(pattern->text)};
    }
    if (allow_hosts.empty() || find_pattern(allow_hosts, name) != nullptr) {
        return std::nullopt;
    }
    // An IP literal is not a name: allow_cidrs, when given, decides about it after resolution.
    if (literal_bytes(name) && !allow_cidrs.empty()) {
        return std::nullopt;
    }
    return PolicyDenial{DenyReason::HostNotAllowed,
                        "host " + quoted(host) + " matches no allow_hosts pattern"};
}

std::optional<PolicyDenial> ProbePolicy::check_address(std::string_view host,
                                                       std::string_view address) const {
    const std::vector<std::string> forms = address_forms(address);
    const std::string text = address_text(address);
    const std::string of = text == host ? std::string() : " of " + quoted(host);
    if (const Cidr* cidr = find_cidr(deny_cidrs, forms)) {
        return PolicyDenial{DenyReason::DeniedCidr,
                            "address " + text + of + " is in deny_cidrs " + cidr->text};
    }
    if (!allow_cidrs.empty() && find_cidr(allow_cidrs, forms) == nullptr) {
        return PolicyDenial{DenyReason::CidrNotAllowed,
                            "address " + text + of + " is in no allow_cidrs range"};
    }
    return std::nullopt;
}

}  // namespace sonde::config

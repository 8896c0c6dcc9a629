#include "prober/net/ip_address.hpp"

#include <cstring>

#include <arpa/inet.h>

namespace sonde::net {

IpAddress IpAddress::from_v4(const in_addr& addr) {
    IpAddress ip;
    ip.family_ = AF_INET;
    std::memcpy(ip.bytes_, &addr, 4);
    return ip;
}

IpAddress IpAddress::from_v6(const in6_addr& addr) {
    IpAddress ip;
    ip.family_ = AF_INET6;
    std::memcpy(ip.bytes_, &addr, 16);
    return ip;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    const std::string copy(text);
    in_addr v4{};
    if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
        return from_v4(v4);
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
        return from_v6(v6);
    }
    return std::nullopt;
}

std::string_view IpAddress::bytes() const {
    const std::size_t n = family_ == AF_INET ? 4 : (family_ == AF_INET6 ? 16 : 0);
    return {reinterpret_cast<const char*>(bytes_), n};
}

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family_ == AF_UNSPEC || inet_ntop(family_, bytes_, text, sizeof text) == nullptr) {
        return {};
    }
    return text;
}

sockaddr_storage IpAddress::to_sockaddr(std::uint16_t port) const {
    sockaddr_storage storage{};
    if (family_ == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        std::memcpy(&sin->sin_addr, bytes_, 4);
    } else if (family_ == AF_INET6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        std::memcpy(&sin6->sin6_addr, bytes_, 16);
    }
    return storage;
}

socklen_t IpAddress::sockaddr_length() const {
    return family_ == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

bool IpAddress::operator==(const IpAddress& other) const {
    return family_ == other.family_ && bytes() == other.bytes();
}

std::string sockaddr_text(const sockaddr_storage& storage) {
    char host[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage);
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(sin->sin_port));
    }
    if (storage.ss_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(sin6->sin6_port));
    }
    return {};
}

std::optional<HostPort> split_host_port(std::string_view text) {
    // Go's net.SplitHostPort: "[v6]:port" or "host:port" where host has no colon.
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::nullopt;
        }
        const auto port = text.substr(close + 2);
        if (port.find(':') != std::string_view::npos) {
            return std::nullopt;
        }
        return HostPort{std::string(text.substr(1, close - 1)), std::string(port)};
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    const auto host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
        return std::nullopt;  // "too many colons": an IPv6 literal must be bracketed
    }
    return HostPort{std::string(host), std::string(text.substr(colon + 1))};
}

}  // namespace sonde::net

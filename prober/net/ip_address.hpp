#pragma once

// IpAddress: one IPv4 or IPv6 address (no port), as resolved or parsed from a literal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>

namespace sonde::net {

class IpAddress {
public:
    IpAddress() = default;
    static IpAddress from_v4(const in_addr& addr);
    static IpAddress from_v6(const in6_addr& addr);
    // Parses "127.0.0.1" or "::1" (no brackets, no port, no zone); nullopt if not a literal.
    static std::optional<IpAddress> parse(std::string_view text);

    int family() const { return family_; }  // AF_INET or AF_INET6 (AF_UNSPEC when empty)
    bool is_v4() const { return family_ == AF_INET; }
    bool is_v6() const { return family_ == AF_INET6; }
    // The raw bytes: 4 for IPv4, 16 for IPv6 (what the exporter hashes for probe_ip_addr_hash).
    std::string_view bytes() const;
    std::string to_string() const;
    // A sockaddr for connect/bind/sendto with the given port.
    sockaddr_storage to_sockaddr(std::uint16_t port) const;
    socklen_t sockaddr_length() const;

    bool operator==(const IpAddress& other) const;

private:
    int family_ = AF_UNSPEC;
    unsigned char bytes_[16] = {};
};

// "ip:port", or "[ip]:port" for IPv6, of a socket address (getpeername, getsockname).
std::string sockaddr_text(const sockaddr_storage& storage);

// Splits "host:port" as Go's net.SplitHostPort: port mandatory, IPv6 literal in brackets.
struct HostPort {
    std::string host;
    std::string port;
};
std::optional<HostPort> split_host_port(std::string_view text);

}  // namespace sonde::net

#pragma once

// ICMP echo messages: building requests, parsing replies, and the rule that decides whether a
// reply answers a request. Pure functions over bytes, with no sockets and no loop, so that the
// unit tests cover every rule (reference §1.7 payload rules, §4.6 reply matching).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prober/net/ip_address.hpp"

namespace sonde::modules::icmp {

// The exporter's payload, sent when payload_size is 0.
inline constexpr std::string_view kDefaultPayload = "Prometheus Blackbox Exporter";

inline constexpr std::uint8_t kEchoReplyV4 = 0;
inline constexpr std::uint8_t kEchoRequestV4 = 8;
inline constexpr std::uint8_t kEchoRequestV6 = 128;
inline constexpr std::uint8_t kEchoReplyV6 = 129;
inline constexpr std::size_t kEchoHeaderSize = 8;

// The echo payload for a module's payload_size: the default string when 0, else exactly
// payload_size bytes that start with (a prefix of) the default string and are zero-padded.
// payload_size must not be negative.
std::string echo_payload(int payload_size);

// The Internet checksum (RFC 1071) of bytes, in host order. Summing a message that carries its
// correct checksum gives 0.
std::uint16_t internet_checksum(std::string_view bytes);

// An echo request for family (AF_INET or AF_INET6): type, code 0, checksum, identifier,
// sequence, payload. The IPv4 checksum is computed here; the ICMPv6 one is left 0 because it
// covers a pseudo-header only the kernel knows, and the kernel always fills it for ICMPv6
// sockets (RFC 3542 §3.1).
std::string build_echo_request(int family, std::uint16_t id, std::uint16_t sequence,
                               std::string_view payload);

struct EchoReply {
    std::uint16_t id = 0;
    std::uint16_t sequence = 0;
    std::string_view payload;  // points into the parsed packet
};

// Parses what a socket received. with_ip_header is true for raw IPv4 sockets, which deliver the
// IPv4 header too. Returns nullopt for anything that is not a well-formed echo reply of that
// family: truncated packets, other ICMP types, a non-zero code, a bad IPv4 checksum on a raw
// socket (the kernel checks it only after raw sockets got their copy).
std::optional<EchoReply> parse_echo_reply(int family, bool with_ip_header, std::string_view packet);

// What a session waits for.
struct EchoExpectation {
    net::IpAddress destination;
    std::uint16_t id = 0;
    std::uint16_t sequence = 0;
    std::string_view payload;
    // True on datagram ("ping") sockets, where the kernel replaces the identifier with its own:
    // the identifier is then not compared, as the exporter does on Linux.
    bool id_rewritten = false;
};

// The exporter's rule: the reply comes from the address the request went to and equals the
// request except for type, checksum and (on datagram sockets) the identifier.
bool reply_matches(const EchoExpectation& want, const net::IpAddress& from, const EchoReply& reply);

}  // namespace sonde::modules::icmp

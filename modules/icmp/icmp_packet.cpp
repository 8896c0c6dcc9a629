#include "modules/icmp/icmp_packet.hpp"

#include <algorithm>

#include <sys/socket.h>

namespace sonde::modules::icmp {
namespace {

constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::uint8_t kProtocolIcmp = 1;

std::uint16_t read_u16(std::string_view bytes, std::size_t at) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at]) << 8) |
                                      static_cast<unsigned char>(bytes[at + 1]));
}

void put_u16(std::string& bytes, std::size_t at, std::uint16_t value) {
    bytes[at] = static_cast<char>(value >> 8);
    bytes[at + 1] = static_cast<char>(value & 0xff);
}

}  // namespace

std::string echo_payload(int payload_size) {
    if (payload_size <= 0) {
        return std::string(kDefaultPayload);
    }
    std::string payload(static_cast<std::size_t>(payload_size), '\0');
    const auto n = std::min(payload.size(), kDefaultPayload.size());
    std::copy_n(kDefaultPayload.begin(), n, payload.begin());
    return payload;
}

std::uint16_t internet_checksum(std::string_view bytes) {
    std::uint32_t sum = 0;
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += read_u16(bytes, i);
    }
    if (i < bytes.size()) {
        sum += static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 8;
    }
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::string build_echo_request(int family, std::uint16_t id, std::uint16_t sequence,
                               std::string_view payload) {
    std::string packet(kEchoHeaderSize, '\0');
    packet[0] = static_cast<char>(family == AF_INET6 ? kEchoRequestV6 : kEchoRequestV4);
    put_u16(packet, 4, id);
    put_u16(packet, 6, sequence);
    packet.append(payload);
    if (family != AF_INET6) {
        put_u16(packet, 2, internet_checksum(packet));
    }
    return packet;
}

std::optional<EchoReply> parse_echo_reply(int family, bool with_ip_header,
                                          std::string_view packet) {
    if (family == AF_INET && with_ip_header) {
        if (packet.size() < kIpv4MinHeader) {
            return std::nullopt;
        }
        const auto first = static_cast<unsigned char>(packet[0]);
        const std::size_t header_length = static_cast<std::size_t>(first & 0x0f) * 4;
        if ((first >> 4) != 4 || header_length < kIpv4MinHeader || packet.size() < header_length ||
            static_cast<unsigned char>(packet[9]) != kProtocolIcmp) {
            return std::nullopt;
        }
        packet.remove_prefix(header_length);
        if (packet.size() >= kEchoHeaderSize && internet_checksum(packet) != 0) {
            return std::nullopt;
        }
    }
    if (packet.size() < kEchoHeaderSize) {
        return std::nullopt;
    }
    const auto type = static_cast<unsigned char>(packet[0]);
    const auto code = static_cast<unsigned char>(packet[1]);
    if (type != (family == AF_INET6 ? kEchoReplyV6 : kEchoReplyV4) || code != 0) {
        return std::nullopt;
    }
    EchoReply reply;
    reply.id = read_u16(packet, 4);
    reply.sequence = read_u16(packet, 6);
    reply.payload = packet.substr(kEchoHeaderSize);
    return reply;
}

bool reply_matches(const EchoExpectation& want, const net::IpAddress& from,
                   const EchoReply& reply) {
    return from == want.destination && reply.sequence == want.sequence &&
           (want.id_rewritten || reply.id == want.id) && reply.payload == want.payload;
}

}  // namespace sonde::modules::icmp

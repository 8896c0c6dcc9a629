// ICMP echo packets: payload rules, checksums, building requests, parsing replies, and the
// reply matching table (foreign identifiers, other sources, truncated packets).
#include "modules/icmp/icmp_packet.hpp"

#include <string>

#include <catch2/catch.hpp>
#include <sys/socket.h>

namespace sonde::modules::icmp {
namespace {

using namespace std::string_literals;

net::IpAddress ip(const char* text) {
    auto parsed = net::IpAddress::parse(text);
    REQUIRE(parsed.has_value());
    return *parsed;
}

// An IPv4 header (20 bytes, protocol ICMP) in front of an ICMP message, as raw sockets deliver.
std::string with_ipv4_header(const std::string& icmp) {
    std::string header = "\x45\x00\x00\x00\x00\x00\x00\x00\x40\x01\x00\x00"s;
    header += "\x7f\x00\x00\x01\x7f\x00\x00\x01"s;
    return header + icmp;
}

// Turns a request into the reply the peer sends: type changed, IPv4 checksum recomputed.
std::string as_reply(std::string request, int family) {
    request[0] = static_cast<char>(family == AF_INET6 ? kEchoReplyV6 : kEchoReplyV4);
    request[2] = request[3] = '\0';
    if (family == AF_INET) {
        const auto sum = internet_checksum(request);
        request[2] = static_cast<char>(sum >> 8);
        request[3] = static_cast<char>(sum & 0xff);
    }
    return request;
}

TEST_CASE("icmp payload: the exporter's string, or payload_size bytes", "[unit][icmp]") {
    CHECK(echo_payload(0) == "Prometheus Blackbox Exporter");
    CHECK(echo_payload(0).size() == 28);
    CHECK(echo_payload(10) == "Prometheus");
    CHECK(echo_payload(28) == "Prometheus Blackbox Exporter");
    const auto big = echo_payload(40);
    REQUIRE(big.size() == 40);
    CHECK(big.substr(0, 28) == "Prometheus Blackbox Exporter");
    CHECK(big.substr(28) == std::string(12, '\0'));
    CHECK(echo_payload(1) == "P");
}

TEST_CASE("icmp checksum: RFC 1071 examples", "[unit][icmp]") {
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2, whose complement is 220d.
    CHECK(internet_checksum("\x00\x01\xf2\x03\xf4\xf5\xf6\xf7"s) == 0x220d);
    // An odd length pads with a zero byte.
    CHECK(internet_checksum("\x01"s) == static_cast<std::uint16_t>(~0x0100 & 0xffff));
    CHECK(internet_checksum("") == 0xffff);
}

TEST_CASE("icmp echo request: layout and checksum", "[unit][icmp]") {
    const auto v4 = build_echo_request(AF_INET, 0x1234, 0xabcd, "hi");
    REQUIRE(v4.size() == 10);
    CHECK(static_cast<unsigned char>(v4[0]) == 8);
    CHECK(v4[1] == '\0');
    CHECK(v4.substr(4, 4) == "\x12\x34\xab\xcd"s);
    CHECK(v4.substr(8) == "hi");
    CHECK(internet_checksum(v4) == 0);  // a correct checksum sums to zero

    const auto v6 = build_echo_request(AF_INET6, 0x1234, 0xabcd, "hi");
    REQUIRE(v6.size() == 10);
    CHECK(static_cast<unsigned char>(v6[0]) == 128);
    CHECK(v6.substr(2, 2) == "\x00\x00"s);  // the kernel fills ICMPv6 checksums
}

TEST_CASE("icmp reply parsing: datagram and raw sockets in both families", "[unit][icmp]") {
    const auto request = build_echo_request(AF_INET, 7, 9, kDefaultPayload);

    SECTION("IPv4 without header (datagram socket)") {
        const auto packet = as_reply(request, AF_INET);  // the reply's payload points into it
        const auto reply = parse_echo_reply(AF_INET, false, packet);
        REQUIRE(reply);
        CHECK(reply->id == 7);
        CHECK(reply->sequence == 9);
        CHECK(reply->payload == kDefaultPayload);
    }
    SECTION("IPv4 with header (raw socket)") {
        const auto packet = with_ipv4_header(as_reply(request, AF_INET));
        const auto reply = parse_echo_reply(AF_INET, true, packet);
        REQUIRE(reply);
        CHECK(reply->sequence == 9);
        CHECK(reply->payload == kDefaultPayload);
    }
    SECTION("IPv4 header with options") {
        std::string packet = with_ipv4_header(as_reply(request, AF_INET));
        packet[0] = '\x46';                      // 24-byte header
        packet.insert(20, "\x01\x01\x01\x00"s);  // NOP NOP NOP EOL
        const auto reply = parse_echo_reply(AF_INET, true, packet);
        REQUIRE(reply);
        CHECK(reply->payload == kDefaultPayload);
    }
    SECTION("IPv6") {
        const auto v6 = as_reply(build_echo_request(AF_INET6, 7, 9, "x"), AF_INET6);
        const auto reply = parse_echo_reply(AF_INET6, false, v6);
        REQUIRE(reply);
        CHECK(reply->payload == "x");
        // An IPv4 echo reply type is not an ICMPv6 echo reply.
        CHECK_FALSE(parse_echo_reply(AF_INET6, false, as_reply(request, AF_INET)));
    }
}

TEST_CASE("icmp reply parsing rejects what is not a well-formed echo reply", "[unit][icmp]") {
    const auto reply = as_reply(build_echo_request(AF_INET, 7, 9, "payload"), AF_INET);
    const auto raw = with_ipv4_header(reply);

    // Every truncation of the ICMP header is refused; payload truncation parses (and then
    // fails matching, see below).
    for (std::size_t n = 0; n < kEchoHeaderSize; ++n) {
        CAPTURE(n);
        CHECK_FALSE(parse_echo_reply(AF_INET, false, reply.substr(0, n)));
    }
    for (std::size_t n = 0; n < 20 + kEchoHeaderSize; ++n) {
        CAPTURE(n);
        CHECK_FALSE(parse_echo_reply(AF_INET, true, raw.substr(0, n)));
    }
    // Our own echo request, seen by a raw socket on loopback.
    CHECK_FALSE(parse_echo_reply(AF_INET, false, build_echo_request(AF_INET, 7, 9, "payload")));
    // A non-zero code.
    auto coded = reply;
    coded[1] = '\x01';
    CHECK_FALSE(parse_echo_reply(AF_INET, false, coded));
    // A corrupted checksum on a raw socket (the kernel had not checked it yet).
    auto corrupted = raw;
    corrupted.back() = 'X';
    CHECK_FALSE(parse_echo_reply(AF_INET, true, corrupted));
    // An IPv4 header that claims more than was received, a bad version, a non-ICMP protocol.
    auto long_header = raw;
    long_header[0] = '\x4f';
    CHECK_FALSE(parse_echo_reply(AF_INET, true, long_header.substr(0, 40)));
    auto version6 = raw;
    version6[0] = '\x65';
    CHECK_FALSE(parse_echo_reply(AF_INET, true, version6));
    auto udp = raw;
    udp[9] = '\x11';
    CHECK_FALSE(parse_echo_reply(AF_INET, true, udp));
    auto short_ihl = raw;
    short_ihl[0] = '\x44';
    CHECK_FALSE(parse_echo_reply(AF_INET, true, short_ihl));
}

TEST_CASE("icmp reply matching table", "[unit][icmp]") {
    const std::string payload(kDefaultPayload);
    const EchoExpectation raw{ip("127.0.0.1"), 0x1111, 42, payload, false};
    const EchoExpectation datagram{ip("127.0.0.1"), 0x1111, 42, payload, true};

    struct Row {
        const char* name;
        const char* from;
        std::uint16_t id;
        std::uint16_t sequence;
        std::string payload;
        bool raw_matches;
        bool datagram_matches;
    };
    const Row rows[] = {
        {"the answer", "127.0.0.1", 0x1111, 42, payload, true, true},
        {"foreign identifier", "127.0.0.1", 0x2222, 42, payload, false, true},
        {"other sequence", "127.0.0.1", 0x1111, 43, payload, false, false},
        {"other source", "127.0.0.2", 0x1111, 42, payload, false, false},
        {"IPv6 source", "::1", 0x1111, 42, payload, false, false},
        {"truncated payload", "127.0.0.1", 0x1111, 42, payload.substr(0, 10), false, false},
        {"longer payload", "127.0.0.1", 0x1111, 42, payload + "!", false, false},
        {"altered payload", "127.0.0.1", 0x1111, 42, "Prometheus Blackbox ExporteR", false, false},
        {"empty payload", "127.0.0.1", 0x1111, 42, "", false, false},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        const EchoReply reply{row.id, row.sequence, row.payload};
        CHECK(reply_matches(raw, ip(row.from), reply) == row.raw_matches);
        CHECK(reply_matches(datagram, ip(row.from), reply) == row.datagram_matches);
    }
}

}  // namespace
}  // namespace sonde::modules::icmp

#pragma once

// The DNS wire format as the dns prober needs it: a query encoder, a defensive response decoder,
// and the presentation text of each resource record exactly as miekg/dns's RR.String() prints it
// (the exporter's validators match their regexes against that text).
//
// Everything here is pure and synchronous: no loop, no sockets. Errors are values whose text
// follows miekg/dns ("dns: bad rdlength", "dns: buffer size too small", ...), since the exporter
// logs them as the reason of "Error while sending a DNS query".
//
// The decoder accepts what miekg/dns accepts and rejects what it rejects, with one deliberate
// difference: a compression pointer must point strictly before itself (RFC 1035 §4.1.4 says "a
// prior occurrence"). That rules out pointer loops by construction; miekg/dns only counts hops.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prober/core/result.hpp"

namespace sonde::modules::dns {

// Type, class and rcode numbers the prober refers to by name.
inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeSoa = 6;
inline constexpr std::uint16_t kTypeOpt = 41;
inline constexpr std::uint16_t kClassIn = 1;

// miekg/dns StringToType / StringToClass / StringToRcode (with the NOTIMPL alias). Names are
// case-sensitive, as in the exporter.
std::optional<std::uint16_t> type_from_name(std::string_view name);
std::optional<std::uint16_t> class_from_name(std::string_view name);
std::optional<int> rcode_from_name(std::string_view name);

// miekg/dns Type.String() / Class.String(): the mnemonic, else "TYPE<n>" / "CLASS<n>".
std::string type_name(std::uint16_t type);
std::string class_name(std::uint16_t rr_class);
// miekg/dns RcodeToString[rcode]: "" for an rcode without a name.
std::string rcode_name(int rcode);

struct QuerySpec {
    std::uint16_t id = 0;
    std::string name;  // presentation form; made fully qualified (trailing dot) when not
    std::uint16_t type = kTypeA;
    std::uint16_t qclass = kClassIn;
    bool recursion_desired = true;
};

// One question, no EDNS0, opcode QUERY, only RD set (when asked): what the exporter sends.
// Fails for names that cannot be encoded (empty labels, labels over 63 octets, names over 255).
[[nodiscard]] Result<std::string> encode_query(const QuerySpec& spec);

// The name in presentation form with the trailing dot, as miekg/dns Fqdn().
std::string fqdn(std::string_view name);

struct Question {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t qclass = 0;
};

struct ResourceRecord {
    std::string name;  // presentation form, escaped as miekg/dns does, always ending in '.'
    std::uint16_t type = 0;
    std::uint16_t rr_class = 0;
    std::uint32_t ttl = 0;
    std::string rdata;  // the RDATA's presentation text
    std::string text;   // the whole record as miekg/dns RR.String(): what validators match
    std::optional<std::uint32_t> soa_serial;  // set for SOA records with RDATA
};

struct Message {
    std::uint16_t id = 0;
    bool response = false;
    int opcode = 0;
    bool authoritative = false;
    bool truncated = false;
    bool recursion_desired = false;
    bool recursion_available = false;
    // The header's four bits, extended by an OPT record's upper eight bits when present.
    int rcode = 0;
    std::vector<Question> questions;
    std::vector<ResourceRecord> answer;
    std::vector<ResourceRecord> authority;
    std::vector<ResourceRecord> additional;
};

// Decodes a whole message. Like miekg/dns, counts that claim more entries than the message holds
// are tolerated when the message ends cleanly between entries (some servers send a bare header
// with REFUSED); anything cut inside an entry is an error.
[[nodiscard]] Result<Message> decode_message(std::string_view wire);

// The id of a message of at least 2 bytes (to drop replies to other queries before decoding).
std::optional<std::uint16_t> peek_id(std::string_view wire);

}  // namespace sonde::modules::dns

#include "modules/dns/dns_message.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <iterator>

namespace sonde::modules::dns {
namespace {

struct NamedCode {
    std::string_view name;
    std::uint16_t code;
};

// miekg/dns TypeToString (v1.1.72), with numbers.
constexpr NamedCode kTypes[] = {
    {"None", 0},     {"A", 1},           {"NS", 2},           {"MD", 3},         {"MF", 4},
    {"CNAME", 5},    {"SOA", 6},         {"MB", 7},           {"MG", 8},         {"MR", 9},
    {"NULL", 10},    {"PTR", 12},        {"HINFO", 13},       {"MINFO", 14},     {"MX", 15},
    {"TXT", 16},     {"RP", 17},         {"AFSDB", 18},       {"X25", 19},       {"ISDN", 20},
    {"RT", 21},      {"NSAP-PTR", 23},   {"SIG", 24},         {"KEY", 25},       {"PX", 26},
    {"GPOS", 27},    {"AAAA", 28},       {"LOC", 29},         {"NXT", 30},       {"EID", 31},
    {"NIMLOC", 32},  {"SRV", 33},        {"ATMA", 34},        {"NAPTR", 35},     {"KX", 36},
    {"CERT", 37},    {"DNAME", 39},      {"OPT", 41},         {"APL", 42},       {"DS", 43},
    {"SSHFP", 44},   {"IPSECKEY", 45},   {"RRSIG", 46},       {"NSEC", 47},      {"DNSKEY", 48},
    {"DHCID", 49},   {"NSEC3", 50},      {"NSEC3PARAM", 51},  {"TLSA", 52},      {"SMIMEA", 53},
    {"HIP", 55},     {"NINFO", 56},      {"RKEY", 57},        {"TALINK", 58},    {"CDS", 59},
    {"CDNSKEY", 60}, {"OPENPGPKEY", 61}, {"CSYNC", 62},       {"ZONEMD", 63},    {"SVCB", 64},
    {"HTTPS", 65},   {"SPF", 99},        {"UINFO", 100},      {"UID", 101},      {"GID", 102},
    {"UNSPEC", 103}, {"NID", 104},       {"L32", 105},        {"L64", 106},      {"LP", 107},
    {"EUI48", 108},  {"EUI64", 109},     {"NXNAME", 128},     {"TKEY", 249},     {"TSIG", 250},
    {"IXFR", 251},   {"AXFR", 252},      {"MAILB", 253},      {"MAILA", 254},    {"ANY", 255},
    {"URI", 256},    {"CAA", 257},       {"AVC", 258},        {"AMTRELAY", 260}, {"RESINFO", 261},
    {"TA", 32768},   {"DLV", 32769},     {"Reserved", 65535},
};

// Types with a name but no record implementation in miekg/dns (absent from TypeToRR): it keeps
// such records as RFC3597, whose String() prints "CLASS<n>\tTYPE<n>" instead of mnemonics.
constexpr std::uint16_t kNamedButGeneric[] = {0, 34, 251, 252, 253, 254, 255, 65535};

constexpr NamedCode kClasses[] = {{"IN", 1}, {"CS", 2},     {"CH", 3},
                                  {"HS", 4}, {"NONE", 254}, {"ANY", 255}};

constexpr NamedCode kRcodes[] = {
    {"NOERROR", 0},  {"FORMERR", 1},    {"SERVFAIL", 2}, {"NXDOMAIN", 3},  {"NOTIMP", 4},
    {"REFUSED", 5},  {"YXDOMAIN", 6},   {"YXRRSET", 7},  {"NXRRSET", 8},   {"NOTAUTH", 9},
    {"NOTZONE", 10}, {"DSOTYPENI", 11}, {"BADSIG", 16},  {"BADKEY", 17},   {"BADTIME", 18},
    {"BADMODE", 19}, {"BADNAME", 20},   {"BADALG", 21},  {"BADTRUNC", 22}, {"BADCOOKIE", 23},
};

std::optional<std::uint16_t> find_code(const auto& table, std::string_view name) {
    for (const auto& entry : table) {
        if (entry.name == name) {
            return entry.code;
        }
    }
    return std::nullopt;
}

std::optional<std::string_view> find_name(const auto& table, unsigned code) {
    for (const auto& entry : table) {
        if (entry.code == code) {
            return entry.name;
        }
    }
    return std::nullopt;
}

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxNameWireOctets = 255;
constexpr int kMaxCompressionPointers = 126;  // miekg/dns: (255 + 1) / 2 - 2

const char* const kErrBuf = "dns: buffer size too small";
const char* const kErrRdlength = "dns: bad rdlength";

// ---- Encoding ----------------------------------------------------------------------------

void put16(std::string& out, std::uint16_t value) {
    out.push_back(static_cast<char>(value >> 8));
    out.push_back(static_cast<char>(value & 0xff));
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Packs a fully qualified presentation name (with \X and \DDD escapes) into wire labels.
Result<void> pack_name(std::string_view name, std::string& out) {
    if (name == ".") {
        out.push_back('\0');
        return {};
    }
    std::string label;
    std::size_t total = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '\\') {
            if (i + 3 < name.size() && is_digit(name[i + 1]) && is_digit(name[i + 2]) &&
                is_digit(name[i + 3])) {
                const int value =
                    (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
                if (value > 255) {
                    return unexpected("dns: bad rdata");
                }
                label.push_back(static_cast<char>(value));
                i += 3;
            } else if (i + 1 < name.size()) {
                label.push_back(name[i + 1]);
                ++i;
            } else {
                return unexpected("dns: bad rdata");
            }
            continue;
        }
        if (c != '.') {
            label.push_back(c);
            continue;
        }
        if (label.empty()) {
            return unexpected("dns: bad rdata");  // an empty label: "a..b" or ".a"
        }
        if (label.size() > 63) {
            return unexpected("dns: bad rdata");
        }
        total += label.size() + 1;
        out.push_back(static_cast<char>(label.size()));
        out += label;
        label.clear();
    }
    if (!label.empty()) {
        return unexpected("dns: domain must be fully qualified");
    }
    if (total + 1 > kMaxNameWireOctets) {
        return unexpected("dns: domain name exceeded 255 wire-format octets");
    }
    out.push_back('\0');
    return {};
}

// ---- Decoding ----------------------------------------------------------------------------

std::uint16_t get16(std::string_view msg, std::size_t off) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(msg[off]) << 8) |
                                      static_cast<unsigned char>(msg[off + 1]));
}

std::uint32_t get32(std::string_view msg, std::size_t off) {
    return (std::uint32_t{get16(msg, off)} << 16) | get16(msg, off + 2);
}

void append_escaped_byte(std::string& out, unsigned char b) {
    std::array<char, 5> buf{};
    std::snprintf(buf.data(), buf.size(), "\\%03u", static_cast<unsigned>(b));
    out += buf.data();
}

bool is_name_special(unsigned char b) {
    switch (b) {
        case '.':
        case ' ':
        case '\'':
        case '@':
        case ';':
        case '(':
        case ')':
        case '"':
        case '\\':
            return true;
        default:
            return false;
    }
}

// Reads a possibly compressed name starting at off; off moves past the name as it appears at
// that place (a pointer counts two bytes). Pointers must point strictly backwards.
Result<std::string> read_name(std::string_view msg, std::size_t& off) {
    std::string out;
    std::size_t pos = off;
    std::size_t wire = 1;  // the final root label
    bool jumped = false;
    int pointers = 0;
    for (;;) {
        if (pos >= msg.size()) {
            return unexpected(kErrBuf);
        }
        const auto c = static_cast<unsigned char>(msg[pos]);
        switch (c & 0xC0) {
            case 0x00: {
                if (c == 0) {
                    if (!jumped) {
                        off = pos + 1;
                    }
                    if (out.empty()) {
                        out = ".";
                    }
                    return out;
                }
                if (pos + 1 + c > msg.size()) {
                    return unexpected(kErrBuf);
                }
                wire += c + 1U;
                if (wire > kMaxNameWireOctets) {
                    return unexpected("dns: domain name exceeded 255 wire-format octets");
                }
                for (std::size_t i = pos + 1; i < pos + 1 + c; ++i) {
                    const auto b = static_cast<unsigned char>(msg[i]);
                    if (is_name_special(b)) {
                        out.push_back('\\');
                        out.push_back(static_cast<char>(b));
                    } else if (b < ' ' || b > '~') {
                        append_escaped_byte(out, b);
                    } else {
                        out.push_back(static_cast<char>(b));
                    }
                }
                out.push_back('.');
                pos += 1 + c;
                break;
            }
            case 0xC0: {
                if (pos + 2 > msg.size()) {
                    return unexpected(kErrBuf);
                }
                const std::size_t target = get16(msg, pos) & 0x3FFFU;
                if (!jumped) {
                    off = pos + 2;
                }
                jumped = true;
                if (target >= pos) {
                    return unexpected("dns: bad compression pointer");
                }
                if (++pointers > kMaxCompressionPointers) {
                    return unexpected("dns: too many compression pointers");
                }
                pos = target;
                break;
            }
            default:
                // 0x40 and 0x80: the extended label types of RFC 2671/6891, never used.
                return unexpected("dns: bad rdata");
        }
    }
}

// A <character-string>: one length byte and that many bytes, escaped as miekg/dns prints TXT.
void append_txt_byte(std::string& out, unsigned char b) {
    if (b == '"' || b == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(b));
    } else if (b < ' ' || b > '~') {
        append_escaped_byte(out, b);
    } else {
        out.push_back(static_cast<char>(b));
    }
}

std::string quoted(std::string_view raw) {
    std::string out = "\"";
    for (char c : raw) {
        append_txt_byte(out, static_cast<unsigned char>(c));
    }
    out.push_back('"');
    return out;
}

Result<std::string> read_string(std::string_view msg, std::size_t& off) {
    if (off + 1 > msg.size()) {
        return unexpected("dns: overflow unpacking txt");
    }
    const std::size_t len = static_cast<unsigned char>(msg[off]);
    if (off + 1 + len > msg.size()) {
        return unexpected("dns: overflow unpacking txt");
    }
    std::string raw(msg.substr(off + 1, len));
    off += 1 + len;
    return raw;
}

std::string hex(std::string_view bytes, bool upper) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xF]);
    }
    return out;
}

std::string base64(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16U) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8U) |
                           static_cast<unsigned char>(bytes[i + 2]);
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(kAlphabet[(v >> 6) & 63]);
        out.push_back(kAlphabet[v & 63]);
    }
    if (i < bytes.size()) {
        unsigned v = static_cast<unsigned char>(bytes[i]) << 16U;
        const bool two = i + 1 < bytes.size();
        if (two) {
            v |= static_cast<unsigned char>(bytes[i + 1]) << 8U;
        }
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(two ? kAlphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

// Go's net.IP.String() for 16 bytes, as miekg/dns AAAA.String() uses it: IPv4-mapped addresses
// as ::ffff:a.b.c.d, otherwise RFC 5952 (the longest run of two or more zero groups, the first
// on a tie, becomes "::").
std::string format_ipv6(std::string_view b) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    bool mapped = byte(10) == 0xff && byte(11) == 0xff;
    for (std::size_t i = 0; i < 10 && mapped; ++i) {
        mapped = byte(i) == 0;
    }
    if (mapped) {
        return "::ffff:" + std::to_string(byte(12)) + "." + std::to_string(byte(13)) + "." +
               std::to_string(byte(14)) + "." + std::to_string(byte(15));
    }
    std::array<unsigned, 8> groups{};
    for (std::size_t i = 0; i < 8; ++i) {
        groups[i] = (byte(2 * i) << 8U) | byte(2 * i + 1);
    }
    int best_start = -1;
    int best_len = 0;
    for (int i = 0; i < 8;) {
        if (groups[static_cast<std::size_t>(i)] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[static_cast<std::size_t>(j)] == 0) {
            ++j;
        }
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2) {
        best_start = -1;
    }
    std::string out;
    std::array<char, 8> buf{};
    for (int i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') {
            out.push_back(':');
        }
        std::snprintf(buf.data(), buf.size(), "%x", groups[static_cast<std::size_t>(i)]);
        out += buf.data();
    }
    return out;
}

bool has_formatter(std::uint16_t type);

// Formats RDATA in [off, end) of msg (msg already cut at end, so names cannot run past it).
Result<std::string> format_rdata(std::string_view msg, std::size_t off, std::uint16_t type,
                                 std::optional<std::uint32_t>& soa_serial) {
    const std::size_t end = msg.size();
    const auto need = [&](std::size_t n) { return off + n <= end; };
    const auto u16 = [&] {
        const auto v = get16(msg, off);
        off += 2;
        return std::to_string(v);
    };
    const auto u8 = [&] { return std::to_string(static_cast<unsigned char>(msg[off++])); };
    const auto name = [&]() -> Result<std::string> { return read_name(msg, off); };
    std::string text;
    switch (type) {
        case 1:  // A
            if (!need(4)) {
                return unexpected("dns: overflow unpacking a");
            }
            text = std::to_string(static_cast<unsigned char>(msg[off])) + "." +
                   std::to_string(static_cast<unsigned char>(msg[off + 1])) + "." +
                   std::to_string(static_cast<unsigned char>(msg[off + 2])) + "." +
                   std::to_string(static_cast<unsigned char>(msg[off + 3]));
            off += 4;
            break;
        case 28:  // AAAA
            if (!need(16)) {
                return unexpected("dns: overflow unpacking aaaa");
            }
            text = format_ipv6(msg.substr(off, 16));
            off += 16;
            break;
        case 2:   // NS
        case 3:   // MD
        case 4:   // MF
        case 5:   // CNAME
        case 7:   // MB
        case 8:   // MG
        case 9:   // MR
        case 12:  // PTR
        case 23:  // NSAP-PTR
        case 39:  // DNAME
        {
            auto n = name();
            if (!n) {
                return n;
            }
            text = *n;
            break;
        }
        case 14:  // MINFO
        case 17:  // RP
        {
            auto a = name();
            if (!a) {
                return a;
            }
            auto b = name();
            if (!b) {
                return b;
            }
            text = *a + " " + *b;
            break;
        }
        case 15:  // MX
        case 18:  // AFSDB
        case 21:  // RT
        case 36:  // KX
        {
            if (!need(2)) {
                return unexpected(kErrBuf);
            }
            text = u16();
            auto n = name();
            if (!n) {
                return n;
            }
            text += " " + *n;
            break;
        }
        case 6: {  // SOA
            auto ns = name();
            if (!ns) {
                return ns;
            }
            auto mbox = name();
            if (!mbox) {
                return mbox;
            }
            if (!need(20)) {
                return unexpected(kErrBuf);
            }
            soa_serial = get32(msg, off);
            text = *ns + " " + *mbox;
            for (int i = 0; i < 5; ++i) {
                text += " " + std::to_string(get32(msg, off));
                off += 4;
            }
            break;
        }
        case 13:   // HINFO
        case 16:   // TXT
        case 99:   // SPF
        case 258:  // AVC
        {
            while (off < end) {
                auto s = read_string(msg, off);
                if (!s) {
                    return s;
                }
                if (!text.empty()) {
                    text.push_back(' ');
                }
                text += quoted(*s);
            }
            break;
        }
        case 33: {  // SRV
            if (!need(6)) {
                return unexpected(kErrBuf);
            }
            text = u16();
            text += " " + u16();
            text += " " + u16();
            auto n = name();
            if (!n) {
                return n;
            }
            text += " " + *n;
            break;
        }
        case 35: {  // NAPTR
            if (!need(4)) {
                return unexpected(kErrBuf);
            }
            text = u16();
            text += " " + u16();
            for (int i = 0; i < 3; ++i) {
                auto s = read_string(msg, off);
                if (!s) {
                    return s;
                }
                text += " " + quoted(*s);
            }
            auto n = name();
            if (!n) {
                return n;
            }
            text += " " + *n;
            break;
        }
        case 257: {  // CAA
            if (!need(2)) {
                return unexpected(kErrBuf);
            }
            text = u8();
            auto tag = read_string(msg, off);
            if (!tag) {
                return tag;
            }
            text += " " + *tag + " " + quoted(msg.substr(off));
            off = end;
            break;
        }
        case 256: {  // URI
            if (!need(4)) {
                return unexpected(kErrBuf);
            }
            text = u16();
            text += " " + u16();
            text += " " + quoted(msg.substr(off));
            off = end;
            break;
        }
        case 43:     // DS
        case 59:     // CDS
        case 32768:  // TA
        case 32769:  // DLV
        case 44:     // SSHFP
        {
            const bool sshfp = type == 44;
            if (!need(sshfp ? 2 : 4)) {
                return unexpected(kErrBuf);
            }
            // DS: key tag, algorithm, digest type; SSHFP: algorithm, fingerprint type.
            text = sshfp ? u8() : u16();
            text += " " + u8();
            if (!sshfp) {
                text += " " + u8();
            }
            text += " " + hex(msg.substr(off), true);
            off = end;
            break;
        }
        case 48:  // DNSKEY
        case 60:  // CDNSKEY
        case 25:  // KEY
        {
            if (!need(4)) {
                return unexpected(kErrBuf);
            }
            text = u16();
            text += " " + u8();
            text += " " + u8();
            text += " " + base64(msg.substr(off));
            off = end;
            break;
        }
        case 52: {  // TLSA
            if (!need(3)) {
                return unexpected(kErrBuf);
            }
            text = u8();
            text += " " + u8();
            text += " " + u8();
            text += " " + hex(msg.substr(off), false);
            off = end;
            break;
        }
        case 61:  // OPENPGPKEY
            text = base64(msg.substr(off));
            off = end;
            break;
        default:
            // Not reached: callers check has_formatter() first.
            text = "\\# " + std::to_string(end - off) + " " + hex(msg.substr(off), false);
            off = end;
            break;
    }
    if (off != end) {
        return unexpected(kErrRdlength);
    }
    return text;
}

bool has_formatter(std::uint16_t type) {
    switch (type) {
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
        case 6:
        case 7:
        case 8:
        case 9:
        case 12:
        case 13:
        case 14:
        case 15:
        case 16:
        case 17:
        case 18:
        case 21:
        case 23:
        case 25:
        case 28:
        case 33:
        case 35:
        case 36:
        case 39:
        case 43:
        case 44:
        case 48:
        case 52:
        case 59:
        case 60:
        case 61:
        case 99:
        case 256:
        case 257:
        case 258:
        case 32768:
        case 32769:
            return true;
        default:
            return false;
    }
}

bool miekg_has_rr_type(std::uint16_t type) {
    return find_name(kTypes, type).has_value() &&
           std::find(std::begin(kNamedButGeneric), std::end(kNamedButGeneric), type) ==
               std::end(kNamedButGeneric);
}

Result<ResourceRecord> read_rr(std::string_view msg, std::size_t& off) {
    ResourceRecord rr;
    auto owner = read_name(msg, off);
    if (!owner) {
        return unexpected(owner.error());
    }
    rr.name = std::move(*owner);
    if (off + 10 > msg.size()) {
        return unexpected(kErrBuf);
    }
    rr.type = get16(msg, off);
    rr.rr_class = get16(msg, off + 2);
    rr.ttl = get32(msg, off + 4);
    const std::size_t rdlength = get16(msg, off + 8);
    off += 10;
    const std::size_t end = off + rdlength;
    if (end > msg.size()) {
        return unexpected(kErrRdlength);
    }
    const bool generic = !miekg_has_rr_type(rr.type);
    if (rdlength == 0) {
        // miekg/dns keeps a record without RDATA and prints only its header (RFC3597: "\# 0 ").
        rr.rdata = generic ? "\\# 0 " : "";
    } else if (generic || !has_formatter(rr.type)) {
        rr.rdata = "\\# " + std::to_string(rdlength) + " " + hex(msg.substr(off, rdlength), false);
    } else {
        auto text = format_rdata(msg.substr(0, end), off, rr.type, rr.soa_serial);
        if (!text) {
            return unexpected(text.error());
        }
        rr.rdata = std::move(*text);
    }
    off = end;
    const std::string header_class =
        generic ? "CLASS" + std::to_string(rr.rr_class) : class_name(rr.rr_class);
    const std::string header_type = generic ? "TYPE" + std::to_string(rr.type) : type_name(rr.type);
    if (rr.type == kTypeOpt) {
        // miekg/dns prints OPT as the EDNS pseudo-section (EDNS options are left out here).
        rr.text = "\n;; OPT PSEUDOSECTION:\n; EDNS: version " +
                  std::to_string((rr.ttl >> 16) & 0xFF) + "; " +
                  ((rr.ttl & 0x8000) != 0 ? "flags: do; " : "flags:; ") +
                  "udp: " + std::to_string(rr.rr_class);
        return rr;
    }
    rr.text = rr.name + "\t" + std::to_string(rr.ttl) + "\t" + header_class + "\t" + header_type +
              "\t" + rr.rdata;
    return rr;
}

Result<void> read_section(std::string_view msg, std::size_t& off, unsigned count,
                          std::vector<ResourceRecord>& out) {
    for (unsigned i = 0; i < count; ++i) {
        if (off == msg.size()) {
            return {};  // the count was a lie, and the message ends cleanly: keep what we have
        }
        auto rr = read_rr(msg, off);
        if (!rr) {
            return unexpected(rr.error());
        }
        out.push_back(std::move(*rr));
    }
    return {};
}

}  // namespace

std::optional<std::uint16_t> type_from_name(std::string_view name) {
    return find_code(kTypes, name);
}

std::optional<std::uint16_t> class_from_name(std::string_view name) {
    return find_code(kClasses, name);
}

std::optional<int> rcode_from_name(std::string_view name) {
    if (name == "NOTIMPL") {
        return 4;
    }
    auto code = find_code(kRcodes, name);
    if (!code) {
        return std::nullopt;
    }
    return *code;
}

std::string type_name(std::uint16_t type) {
    auto name = find_name(kTypes, type);
    return name ? std::string(*name) : "TYPE" + std::to_string(type);
}

std::string class_name(std::uint16_t rr_class) {
    auto name = find_name(kClasses, rr_class);
    return name ? std::string(*name) : "CLASS" + std::to_string(rr_class);
}

std::string rcode_name(int rcode) {
    if (rcode < 0) {
        return {};
    }
    auto name = find_name(kRcodes, static_cast<unsigned>(rcode));
    return name ? std::string(*name) : std::string();
}

std::string fqdn(std::string_view name) {
    // A trailing dot counts only when it is not escaped: an odd number of backslashes before
    // it escapes it ("a\." is not fully qualified).
    if (!name.empty() && name.back() == '.') {
        std::size_t backslashes = 0;
        for (std::size_t i = name.size() - 1; i > 0 && name[i - 1] == '\\'; --i) {
            ++backslashes;
        }
        if (backslashes % 2 == 0) {
            return std::string(name);
        }
    }
    return std::string(name) + ".";
}

Result<std::string> encode_query(const QuerySpec& spec) {
    std::string out;
    put16(out, spec.id);
    put16(out, spec.recursion_desired ? 0x0100 : 0x0000);
    put16(out, 1);  // QDCOUNT
    put16(out, 0);
    put16(out, 0);
    put16(out, 0);
    auto packed = pack_name(fqdn(spec.name), out);
    if (!packed) {
        return unexpected(packed.error());
    }
    put16(out, spec.type);
    put16(out, spec.qclass);
    return out;
}

std::optional<std::uint16_t> peek_id(std::string_view wire) {
    if (wire.size() < 2) {
        return std::nullopt;
    }
    return get16(wire, 0);
}

Result<Message> decode_message(std::string_view msg) {
    if (msg.size() < kHeaderSize) {
        return unexpected(kErrBuf);
    }
    Message m;
    m.id = get16(msg, 0);
    const std::uint16_t bits = get16(msg, 2);
    m.response = (bits & 0x8000) != 0;
    m.opcode = (bits >> 11) & 0xF;
    m.authoritative = (bits & 0x0400) != 0;
    m.truncated = (bits & 0x0200) != 0;
    m.recursion_desired = (bits & 0x0100) != 0;
    m.recursion_available = (bits & 0x0080) != 0;
    m.rcode = bits & 0xF;
    const unsigned qdcount = get16(msg, 4);
    const unsigned ancount = get16(msg, 6);
    const unsigned nscount = get16(msg, 8);
    const unsigned arcount = get16(msg, 10);
    std::size_t off = kHeaderSize;
    for (unsigned i = 0; i < qdcount && off < msg.size(); ++i) {
        auto name = read_name(msg, off);
        if (!name) {
            return unexpected("bad question name: " + name.error());
        }
        if (off + 4 > msg.size()) {
            return unexpected(kErrBuf);
        }
        m.questions.push_back({std::move(*name), get16(msg, off), get16(msg, off + 2)});
        off += 4;
    }
    for (auto [count, section] : {std::pair{ancount, &m.answer}, std::pair{nscount, &m.authority},
                                  std::pair{arcount, &m.additional}}) {
        auto read = read_section(msg, off, count, *section);
        if (!read) {
            return unexpected(read.error());
        }
    }
    for (const auto& rr : m.additional) {
        if (rr.type == kTypeOpt) {
            m.rcode |= static_cast<int>((rr.ttl >> 24) & 0xFF) << 4;
            break;
        }
    }
    return m;
}

}  // namespace sonde::modules::dns

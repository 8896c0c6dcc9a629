// The DNS codec: query bytes, decoder tables (compression, loops, truncation, bad rdlength) and
// the miekg/dns presentation text of each record type.
#include "modules/dns/dns_message.hpp"

#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

namespace sonde::modules::dns {
namespace {

// Builds wire bytes for tests.
struct Wire {
    std::string bytes;

    Wire& u8(unsigned v) {
        bytes.push_back(static_cast<char>(v & 0xFF));
        return *this;
    }
    Wire& u16(unsigned v) { return u8(v >> 8).u8(v); }
    Wire& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xFFFF); }
    Wire& raw(const std::string& s) {
        bytes += s;
        return *this;
    }
    Wire& header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar) {
        return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }
    // Uncompressed name from dotted labels ("" is the root).
    Wire& name(const std::string& dotted) {
        std::size_t start = 0;
        while (start < dotted.size()) {
            auto dot = dotted.find('.', start);
            if (dot == std::string::npos) {
                dot = dotted.size();
            }
            u8(static_cast<unsigned>(dot - start)).raw(dotted.substr(start, dot - start));
            start = dot + 1;
        }
        return u8(0);
    }
    Wire& pointer(unsigned offset) { return u16(0xC000 | offset); }
    Wire& rr_head(unsigned type, unsigned cls, std::uint32_t ttl, unsigned rdlength) {
        return u16(type).u16(cls).u32(ttl).u16(rdlength);
    }
};

// A response header plus the question "probe.test. A IN" (the name sits at offset 12).
Wire response(unsigned an, unsigned ns = 0, unsigned ar = 0, unsigned rcode = 0) {
    Wire w;
    w.header(0x1234, 0x8180 | rcode, 1, an, ns, ar).name("probe.test").u16(1).u16(1);
    return w;
}

// One answer whose owner is a pointer to the question name, with the given rdata.
std::string one_record_text(unsigned type, const std::string& rdata, unsigned cls = 1) {
    auto w = response(1);
    w.pointer(12).rr_head(type, cls, 300, static_cast<unsigned>(rdata.size())).raw(rdata);
    auto m = decode_message(w.bytes);
    REQUIRE(m.has_value());
    REQUIRE(m->answer.size() == 1);
    return m->answer[0].text;
}

std::string name_bytes(const std::string& dotted) {
    Wire w;
    w.name(dotted);
    return w.bytes;
}

}  // namespace

TEST_CASE("encode_query writes one question with RD and no EDNS0", "[unit][dns]") {
    auto q = encode_query({0xBEEF, "probe.test", 1, 1, true});
    REQUIRE(q.has_value());
    Wire expected;
    expected.header(0xBEEF, 0x0100, 1, 0, 0, 0).name("probe.test").u16(1).u16(1);
    CHECK(*q == expected.bytes);

    auto no_rd = encode_query({7, "example.com.", 6, 3, false});
    REQUIRE(no_rd.has_value());
    Wire expected2;
    expected2.header(7, 0, 1, 0, 0, 0).name("example.com").u16(6).u16(3);
    CHECK(*no_rd == expected2.bytes);

    auto root = encode_query({1, ".", 2, 1, true});
    REQUIRE(root.has_value());
    CHECK(root->size() == 12 + 1 + 4);

    auto escaped = encode_query({1, "a\\.b.c\\065", 1, 1, true});
    REQUIRE(escaped.has_value());
    Wire expected3;
    expected3.header(1, 0x0100, 1, 0, 0, 0).u8(3).raw("a.b").u8(2).raw("cA").u8(0).u16(1).u16(1);
    CHECK(*escaped == expected3.bytes);
}

TEST_CASE("encode_query rejects names that cannot be encoded", "[unit][dns]") {
    CHECK_FALSE(encode_query({1, "a..b", 1, 1, true}).has_value());
    CHECK_FALSE(encode_query({1, std::string(64, 'x') + ".test", 1, 1, true}).has_value());
    std::string long_name;
    for (int i = 0; i < 5; ++i) {
        long_name += std::string(60, 'x') + ".";
    }
    CHECK_FALSE(encode_query({1, long_name, 1, 1, true}).has_value());
    CHECK(encode_query({1, std::string(63, 'x') + ".test", 1, 1, true}).has_value());
}

TEST_CASE("fqdn adds the trailing dot only when missing", "[unit][dns]") {
    CHECK(fqdn("example.com") == "example.com.");
    CHECK(fqdn("example.com.") == "example.com.");
    CHECK(fqdn("a\\.") == "a\\..");
    CHECK(fqdn("a\\\\.") == "a\\\\.");
    CHECK(fqdn("") == ".");
}

TEST_CASE("names of types, classes and rcodes follow miekg/dns", "[unit][dns]") {
    CHECK(type_from_name("A") == std::uint16_t{1});
    CHECK(type_from_name("SOA") == std::uint16_t{6});
    CHECK(type_from_name("CAA") == std::uint16_t{257});
    CHECK(type_from_name("NSAP-PTR") == std::uint16_t{23});
    CHECK(type_from_name("ANY") == std::uint16_t{255});
    CHECK_FALSE(type_from_name("a").has_value());
    CHECK_FALSE(type_from_name("WKS").has_value());
    CHECK(class_from_name("CH") == std::uint16_t{3});
    CHECK_FALSE(class_from_name("CHAOS").has_value());
    CHECK(rcode_from_name("NOTIMPL") == 4);
    CHECK(rcode_from_name("NOTIMP") == 4);
    CHECK(rcode_from_name("BADCOOKIE") == 23);
    CHECK(rcode_from_name("DSOTYPENI") == 11);
    CHECK_FALSE(rcode_from_name("BADVERS").has_value());
    CHECK_FALSE(rcode_from_name("noerror").has_value());
    CHECK(type_name(65) == "HTTPS");
    CHECK(type_name(999) == "TYPE999");
    CHECK(class_name(3) == "CH");
    CHECK(class_name(42) == "CLASS42");
    CHECK(rcode_name(3) == "NXDOMAIN");
    CHECK(rcode_name(15).empty());
}

TEST_CASE("decode_message reads the header and every section", "[unit][dns]") {
    auto w = response(1, 1, 1, 3);
    w.pointer(12).rr_head(1, 1, 300, 4).u8(127).u8(0).u8(0).u8(1);
    w.pointer(12).rr_head(2, 1, 3600, 5).u8(2).raw("ns").pointer(12);
    w.name("ns.probe.test").rr_head(28, 1, 60, 16).raw(std::string(15, '\0')).u8(1);
    auto m = decode_message(w.bytes);
    REQUIRE(m.has_value());
    CHECK(m->id == 0x1234);
    CHECK(m->response);
    CHECK(m->recursion_desired);
    CHECK(m->recursion_available);
    CHECK_FALSE(m->authoritative);
    CHECK(m->rcode == 3);
    REQUIRE(m->questions.size() == 1);
    CHECK(m->questions[0].name == "probe.test.");
    REQUIRE(m->answer.size() == 1);
    CHECK(m->answer[0].text == "probe.test.\t300\tIN\tA\t127.0.0.1");
    REQUIRE(m->authority.size() == 1);
    CHECK(m->authority[0].text == "probe.test.\t3600\tIN\tNS\tns.probe.test.");
    REQUIRE(m->additional.size() == 1);
    CHECK(m->additional[0].text == "ns.probe.test.\t60\tIN\tAAAA\t::1");
    CHECK(peek_id(w.bytes) == std::uint16_t{0x1234});
}

TEST_CASE("decode_message rejects malformed messages", "[unit][dns]") {
    SECTION("short header") {
        CHECK(decode_message(std::string(11, '\0')).error() == "dns: buffer size too small");
        CHECK_FALSE(peek_id("x").has_value());
    }
    SECTION("pointer to itself") {
        auto w = response(1);
        const auto at = static_cast<unsigned>(w.bytes.size());
        w.pointer(at).rr_head(1, 1, 1, 4).u32(0);
        CHECK(decode_message(w.bytes).error() == "dns: bad compression pointer");
    }
    SECTION("pointer loop through two pointers") {
        // Offset 12 holds a pointer to 14 and 14 a pointer back to 12.
        Wire w;
        w.header(1, 0x8000, 1, 0, 0, 0).pointer(14).pointer(12).u16(1).u16(1);
        CHECK_FALSE(decode_message(w.bytes).has_value());
    }
    SECTION("forward pointer") {
        auto w = response(1);
        const auto at = static_cast<unsigned>(w.bytes.size());
        w.pointer(at + 2).rr_head(1, 1, 1, 4).u32(0);
        CHECK(decode_message(w.bytes).error() == "dns: bad compression pointer");
    }
    SECTION("pointer past the end") {
        auto w = response(1);
        w.pointer(0x3FFF).rr_head(1, 1, 1, 4).u32(0);
        CHECK_FALSE(decode_message(w.bytes).has_value());
    }
    SECTION("pointer cut after its first byte") {
        auto w = response(1);
        w.u8(0xC0);
        CHECK(decode_message(w.bytes).error() == "dns: buffer size too small");
    }
    SECTION("label running past the end") {
        Wire w;
        w.header(1, 0x8000, 1, 0, 0, 0).u8(10).raw("abc");
        CHECK(decode_message(w.bytes).error() == "bad question name: dns: buffer size too small");
    }
    SECTION("extended label type") {
        Wire w;
        w.header(1, 0x8000, 1, 0, 0, 0).u8(0x41).raw("a").u8(0).u16(1).u16(1);
        CHECK(decode_message(w.bytes).error() == "bad question name: dns: bad rdata");
    }
    SECTION("name longer than 255 octets") {
        Wire w;
        w.header(1, 0x8000, 1, 0, 0, 0);
        for (int i = 0; i < 5; ++i) {
            w.u8(60).raw(std::string(60, 'a'));
        }
        w.u8(0).u16(1).u16(1);
        CHECK_FALSE(decode_message(w.bytes).has_value());
    }
    SECTION("question cut inside its type and class") {
        Wire w;
        w.header(1, 0x8000, 1, 0, 0, 0).name("probe.test").u16(1);
        CHECK(decode_message(w.bytes).error() == "dns: buffer size too small");
    }
    SECTION("record cut inside its fixed fields") {
        auto w = response(1);
        w.pointer(12).u16(1).u16(1);
        CHECK(decode_message(w.bytes).error() == "dns: buffer size too small");
    }
    SECTION("rdlength past the end") {
        auto w = response(1);
        w.pointer(12).rr_head(1, 1, 1, 8).u32(0);
        CHECK(decode_message(w.bytes).error() == "dns: bad rdlength");
    }
    SECTION("rdlength too long for an A record") {
        auto w = response(1);
        w.pointer(12).rr_head(1, 1, 1, 5).u32(0).u8(0);
        CHECK(decode_message(w.bytes).error() == "dns: bad rdlength");
    }
    SECTION("rdlength too short for an A record") {
        auto w = response(1);
        w.pointer(12).rr_head(1, 1, 1, 3).u8(0).u8(0).u8(0);
        CHECK(decode_message(w.bytes).error() == "dns: overflow unpacking a");
    }
    SECTION("rdata name running past rdlength") {
        auto w = response(1);
        w.pointer(12).rr_head(5, 1, 1, 3).u8(5).raw("abcde").u8(0);
        CHECK_FALSE(decode_message(w.bytes).has_value());
    }
    SECTION("TXT string longer than its rdata") {
        auto w = response(1);
        w.pointer(12).rr_head(16, 1, 1, 3).u8(5).raw("ab");
        CHECK_FALSE(decode_message(w.bytes).has_value());
    }
    SECTION("second section cut") {
        auto w = response(1, 1);
        w.pointer(12).rr_head(1, 1, 1, 4).u32(0);
        w.pointer(12).u16(1).u16(1);
        CHECK_FALSE(decode_message(w.bytes).has_value());
    }
}

TEST_CASE("decode_message tolerates counts larger than a cleanly ending message", "[unit][dns]") {
    SECTION("bare header with REFUSED") {
        Wire w;
        w.header(9, 0x8005, 1, 0, 0, 0);
        auto m = decode_message(w.bytes);
        REQUIRE(m.has_value());
        CHECK(m->rcode == 5);
        CHECK(m->questions.empty());
    }
    SECTION("answer count says 3, one record present") {
        auto w = response(3, 2, 1);
        w.pointer(12).rr_head(1, 1, 1, 4).u32(0x7F000001);
        auto m = decode_message(w.bytes);
        REQUIRE(m.has_value());
        CHECK(m->answer.size() == 1);
        CHECK(m->authority.empty());
        CHECK(m->additional.empty());
    }
    SECTION("truncated flag is reported") {
        Wire w;
        w.header(9, 0x8380, 1, 0, 0, 0).name("probe.test").u16(1).u16(1);
        auto m = decode_message(w.bytes);
        REQUIRE(m.has_value());
        CHECK(m->truncated);
    }
}

TEST_CASE("decode_message follows compression pointers, chained", "[unit][dns]") {
    auto w = response(2);
    // "www" + pointer to probe.test, then a record whose owner points at that name.
    const auto www = static_cast<unsigned>(w.bytes.size());
    w.u8(3).raw("www").pointer(12).rr_head(5, 1, 10, 2).pointer(12);
    w.pointer(www).rr_head(1, 1, 10, 4).u32(0x0A000001);
    auto m = decode_message(w.bytes);
    REQUIRE(m.has_value());
    REQUIRE(m->answer.size() == 2);
    CHECK(m->answer[0].text == "www.probe.test.\t10\tIN\tCNAME\tprobe.test.");
    CHECK(m->answer[1].text == "www.probe.test.\t10\tIN\tA\t10.0.0.1");
}

TEST_CASE("an OPT record extends the rcode", "[unit][dns]") {
    auto w = response(0, 0, 1, 0);
    w.u8(0).rr_head(41, 1232, 0x01000000, 0);
    auto m = decode_message(w.bytes);
    REQUIRE(m.has_value());
    CHECK(m->rcode == 16);
    CHECK(m->additional[0].text == "\n;; OPT PSEUDOSECTION:\n; EDNS: version 0; flags:; udp: 1232");
}

TEST_CASE("records print as miekg/dns RR.String()", "[unit][dns]") {
    const std::string h = "probe.test.\t300\tIN\t";
    CHECK(one_record_text(1, std::string("\xC0\x00\x02\x01", 4)) == h + "A\t192.0.2.1");
    CHECK(one_record_text(28, std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') +
                                  "\x01") == h + "AAAA\t2001:db8::1");
    CHECK(one_record_text(28, std::string(10, '\0') + std::string("\xff\xff\x7f\x00\x00\x01", 6)) ==
          h + "AAAA\t::ffff:127.0.0.1");
    CHECK(one_record_text(
              28, std::string("\x20\x01\x0d\xb8\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01",
                              16)) == h + "AAAA\t2001:db8:0:1::1");
    CHECK(one_record_text(
              28, std::string("\x20\x01\x0d\xb8\x00\x00\x00\x01\x00\x01\x00\x01\x00\x01\x00\x01",
                              16)) == h + "AAAA\t2001:db8:0:1:1:1:1:1");
    CHECK(one_record_text(28, std::string(16, '\0')) == h + "AAAA\t::");
    CHECK(one_record_text(2, name_bytes("ns1.example.com")) == h + "NS\tns1.example.com.");
    CHECK(one_record_text(5, name_bytes("alias.test")) == h + "CNAME\talias.test.");
    CHECK(one_record_text(12, name_bytes("host.test")) == h + "PTR\thost.test.");
    CHECK(one_record_text(39, name_bytes("")) == h + "DNAME\t.");
    CHECK(one_record_text(15, std::string("\x00\x0a", 2) + name_bytes("mx.test")) ==
          h + "MX\t10 mx.test.");
    CHECK(one_record_text(16, "\x05hello\x05world") == h + "TXT\t\"hello\" \"world\"");
    CHECK(one_record_text(16, std::string("\x07q\"b\\s\x01\xff", 8)) ==
          h + "TXT\t\"q\\\"b\\\\s\\001\\255\"");
    CHECK(one_record_text(16, std::string("\x00", 1)) == h + "TXT\t\"\"");
    CHECK(one_record_text(99, "\x06v=spf1") == h + "SPF\t\"v=spf1\"");
    CHECK(one_record_text(13,
                          "\x03"
                          "CPU\x02OS") == h + "HINFO\t\"CPU\" \"OS\"");
    {
        Wire soa;
        soa.name("ns.test")
            .name("hostmaster.test")
            .u32(2024010101)
            .u32(7200)
            .u32(3600)
            .u32(1209600)
            .u32(300);
        CHECK(one_record_text(6, soa.bytes) ==
              h + "SOA\tns.test. hostmaster.test. 2024010101 7200 3600 1209600 300");
    }
    {
        Wire srv;
        srv.u16(10).u16(60).u16(5060).name("sip.test");
        CHECK(one_record_text(33, srv.bytes) == h + "SRV\t10 60 5060 sip.test.");
    }
    CHECK(one_record_text(257, std::string("\x00\x05issueletsencrypt.org", 22)) ==
          h + "CAA\t0 issue \"letsencrypt.org\"");
    CHECK(one_record_text(257, std::string("\x80\x05iodefmailto:a@b", 17)) ==
          h + "CAA\t128 iodef \"mailto:a@b\"");
    {
        Wire naptr;
        naptr.u16(100).u16(10).u8(1).raw("U").u8(7).raw("E2U+sip").u8(0).name("");
        CHECK(one_record_text(35, naptr.bytes) == h + "NAPTR\t100 10 \"U\" \"E2U+sip\" \"\" .");
    }
    CHECK(one_record_text(43, std::string("\x30\x39\x08\x02\xab\xcd", 6)) ==
          h + "DS\t12345 8 2 ABCD");
    CHECK(one_record_text(48, std::string("\x01\x01\x03\x08"
                                          "abcd",
                                          8)) == h + "DNSKEY\t257 3 8 YWJjZA==");
    CHECK(one_record_text(44, std::string("\x01\x02\xde\xad", 4)) == h + "SSHFP\t1 2 DEAD");
    CHECK(one_record_text(52, std::string("\x03\x01\x01\xbe\xef", 5)) == h + "TLSA\t3 1 1 beef");
    CHECK(one_record_text(256, std::string("\x00\x01\x00\x02http://x", 12)) ==
          h + "URI\t1 2 \"http://x\"");
    CHECK(one_record_text(17, name_bytes("mbox.test") + name_bytes("txt.test")) ==
          h + "RP\tmbox.test. txt.test.");
}

TEST_CASE("names escape special and unprintable bytes as miekg/dns", "[unit][dns]") {
    Wire w;
    w.header(1, 0x8000, 0, 1, 0, 0).u8(5).raw(std::string("a.b \x01", 5)).u8(2).raw("@;").u8(0);
    w.rr_head(1, 1, 5, 4).u32(0x01020304);
    auto m = decode_message(w.bytes);
    REQUIRE(m.has_value());
    CHECK(m->answer[0].name == "a\\.b\\ \\001.\\@\\;.");
}

TEST_CASE("unknown types and classes print as RFC 3597", "[unit][dns]") {
    CHECK(one_record_text(999, "\x01\x02") == "probe.test.\t300\tCLASS1\tTYPE999\t\\# 2 0102");
    CHECK(one_record_text(1, std::string("\x7f\x00\x00\x01", 4), 3) ==
          "probe.test.\t300\tCH\tA\t127.0.0.1");
    CHECK(one_record_text(1, std::string("\x7f\x00\x00\x01", 4), 42) ==
          "probe.test.\t300\tCLASS42\tA\t127.0.0.1");
    // A type miekg/dns names but this formatter does not know: mnemonic header, generic data.
    CHECK(one_record_text(29, std::string("\x00\x01", 2)) ==
          "probe.test.\t300\tIN\tLOC\t\\# 2 0001");
    // No RDATA: only the header, as miekg/dns prints a zero-length record.
    CHECK(one_record_text(1, "") == "probe.test.\t300\tIN\tA\t");
}

TEST_CASE("SOA records carry their serial", "[unit][dns]") {
    auto w = response(1);
    w.pointer(12).rr_head(6, 1, 60, 0);
    const auto rdstart = w.bytes.size();
    w.name("ns.test").pointer(12).u32(42).u32(1).u32(2).u32(3).u32(4);
    const auto rdlength = w.bytes.size() - rdstart;
    w.bytes[rdstart - 2] = static_cast<char>(rdlength >> 8);
    w.bytes[rdstart - 1] = static_cast<char>(rdlength & 0xFF);
    auto m = decode_message(w.bytes);
    REQUIRE(m.has_value());
    CHECK(m->answer[0].soa_serial == std::uint32_t{42});
    CHECK(m->answer[0].text == "probe.test.\t60\tIN\tSOA\tns.test. probe.test. 42 1 2 3 4");
}

}  // namespace sonde::modules::dns

// The dns prober's wire format: the response decoder (header, questions, the three record
// sections, compression pointers, OPT's extended rcode) and the presentation text of every
// record, which validators match their regexes against. The query encoder gets the input as a
// name, and what it encodes must decode to the same question.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "modules/dns/dns_message.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace sonde::modules::dns;

void check_record(const ResourceRecord& rr) {
    // miekg/dns prints every owner name fully qualified, and the record's text starts with it
    // (but OPT's, which is the EDNS pseudo-section).
    SONDE_FUZZ_CHECK(!rr.name.empty() && rr.name.back() == '.');
    SONDE_FUZZ_CHECK(rr.type == kTypeOpt || rr.text.compare(0, rr.name.size(), rr.name) == 0);
    SONDE_FUZZ_CHECK(!rr.soa_serial || rr.type == kTypeSoa);
}

void encode_round_trip(std::string_view name, std::uint16_t type) {
    QuerySpec spec;
    spec.id = 0x1234;
    spec.name = std::string(name);
    spec.type = type;
    auto wire = encode_query(spec);
    if (!wire) {
        return;
    }
    auto decoded = decode_message(*wire);
    SONDE_FUZZ_CHECK(decoded.has_value());
    SONDE_FUZZ_CHECK(decoded->id == 0x1234);
    SONDE_FUZZ_CHECK(decoded->questions.size() == 1);
    SONDE_FUZZ_CHECK(decoded->questions[0].type == type);
    SONDE_FUZZ_CHECK(decoded->questions[0].qclass == kClassIn);
    SONDE_FUZZ_CHECK(peek_id(*wire) == std::optional<std::uint16_t>(0x1234));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view wire(reinterpret_cast<const char*>(data), size);
    (void)peek_id(wire);
    if (auto message = decode_message(wire)) {
        SONDE_FUZZ_CHECK(message->opcode >= 0 && message->opcode < 16);
        SONDE_FUZZ_CHECK(message->rcode >= 0 && message->rcode < 4096);
        (void)rcode_name(message->rcode);
        for (const auto& question : message->questions) {
            SONDE_FUZZ_CHECK(!question.name.empty() && question.name.back() == '.');
            (void)type_name(question.type);
            (void)class_name(question.qclass);
        }
        for (const auto* section : {&message->answer, &message->authority, &message->additional}) {
            for (const auto& rr : *section) {
                check_record(rr);
            }
        }
    }
    if (size <= 300) {
        const std::uint16_t type =
            size >= 2 ? static_cast<std::uint16_t>(data[0] << 8U | data[1]) : kTypeA;
        encode_round_trip(wire, type);
        (void)type_from_name(wire);
        (void)class_from_name(wire);
        (void)rcode_from_name(wire);
        (void)fqdn(wire);
    }
    return 0;
}

#include "config/dns_names.hpp"

#include <algorithm>
#include <iterator>

namespace sonde::config {
namespace {

// miekg/dns v1.1.72 TypeToString values (the keys of StringToType), including its odd ones
// ("None", "NSAP-PTR", "Reserved") so that exactly the same strings pass.
constexpr std::string_view kTypes[] = {
    "None",       "A",        "NS",     "MD",    "MF",       "CNAME",    "SOA",    "MB",
    "MG",         "MR",       "NULL",   "PTR",   "HINFO",    "MINFO",    "MX",     "TXT",
    "RP",         "AFSDB",    "X25",    "ISDN",  "RT",       "NSAP-PTR", "SIG",    "KEY",
    "PX",         "GPOS",     "AAAA",   "LOC",   "NXT",      "EID",      "NIMLOC", "SRV",
    "ATMA",       "NAPTR",    "KX",     "CERT",  "DNAME",    "OPT",      "APL",    "DS",
    "SSHFP",      "IPSECKEY", "RRSIG",  "NSEC",  "DNSKEY",   "DHCID",    "NSEC3",  "NSEC3PARAM",
    "TLSA",       "SMIMEA",   "HIP",    "NINFO", "RKEY",     "TALINK",   "CDS",    "CDNSKEY",
    "OPENPGPKEY", "CSYNC",    "ZONEMD", "SVCB",  "HTTPS",    "SPF",      "UINFO",  "UID",
    "GID",        "UNSPEC",   "NID",    "L32",   "L64",      "LP",       "EUI48",  "EUI64",
    "NXNAME",     "URI",      "CAA",    "AVC",   "AMTRELAY", "RESINFO",  "TKEY",   "TSIG",
    "IXFR",       "AXFR",     "MAILB",  "MAILA", "ANY",      "TA",       "DLV",    "Reserved",
};

// miekg/dns ClassToString: note CH, not CHAOS.
constexpr std::string_view kClasses[] = {"IN", "CS", "CH", "HS", "NONE", "ANY"};

}  // namespace

bool is_valid_dns_type(std::string_view name) {
    return std::find(std::begin(kTypes), std::end(kTypes), name) != std::end(kTypes);
}

bool is_valid_dns_class(std::string_view name) {
    return std::find(std::begin(kClasses), std::end(kClasses), name) != std::end(kClasses);
}

}  // namespace sonde::config

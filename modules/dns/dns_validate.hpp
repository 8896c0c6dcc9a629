#pragma once

// The exporter's response checks (prober/dns.go validRcode and validRRs), pure and synchronous.
//
// Both are evaluated per probe; names and regexes are only checked here, at probe time, as the
// exporter does: a bad rcode name or a regex that does not compile fails the probe, it does not
// fail the config.

#include <string>
#include <vector>

#include "config/config.hpp"

namespace sonde::modules::dns {

struct CheckResult {
    bool success = true;
    std::string message;  // the exporter's log message on failure
    std::string problem;  // the "problem" field of validRRs failures, else empty
    std::string regexp;   // the regex involved, when one is
    std::string rr;       // the record involved, when one is
    std::string err;      // the regex compile error, for "Error matching regexp"
};

// rcode against valid_rcodes (miekg names, plus NOTIMPL). An unknown name fails with
// "Invalid rcode" before anything is compared, as in the exporter.
CheckResult check_rcode(int rcode, const std::vector<std::string>& valid_rcodes);

// One section's records (their miekg/dns text) against a <dns_rr_validator>. section is
// "Answer RRs", "Authority RRs" or "Additional RRs". Semantics, kept bug-compatible:
//  - fail_if_not_matches_regexp / fail_if_none_matches_regexp fail an empty section;
//  - fail_if_matches_regexp fails at the first record matching any regex;
//  - fail_if_not_matches_regexp fails at the first record not matching one of the regexes;
//  - fail_if_all_match_regexp fails unless every record matches every regex ("Not all RRs
//    matched regexp"); an empty section passes;
//  - fail_if_none_matches_regexp fails when no record matches any regex.
// Regexes are RE2, unanchored; one that does not compile fails when it is first needed.
CheckResult check_rrs(const std::string& section, const std::vector<std::string>& rrs,
                      const config::DnsRrValidator& validator);

}  // namespace sonde::modules::dns

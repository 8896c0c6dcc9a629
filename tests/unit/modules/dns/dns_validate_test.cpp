// The exporter's rcode and RR validators (prober/dns.go validRcode, validRRs), kept
// bug-compatible, including fail_if_all_match_regexp's real meaning.
#include "modules/dns/dns_validate.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace sonde::modules::dns {
namespace {

const std::vector<std::string> kAdditional = {
    "ns1.example.com.\t3600\tIN\tA\t127.0.0.1",
    "ns1.example.com.\t3600\tIN\tAAAA\t::1",
    "ns2.example.com.\t3600\tIN\tA\t127.0.0.2",
};

config::DnsRrValidator make(std::vector<std::string> matches, std::vector<std::string> all,
                            std::vector<std::string> not_matches, std::vector<std::string> none) {
    config::DnsRrValidator v;
    v.fail_if_matches_regexp = std::move(matches);
    v.fail_if_all_match_regexp = std::move(all);
    v.fail_if_not_matches_regexp = std::move(not_matches);
    v.fail_if_none_matches_regexp = std::move(none);
    return v;
}

}  // namespace

TEST_CASE("check_rcode accepts listed rcodes and fails unknown names", "[unit][dns]") {
    CHECK(check_rcode(0, {"NOERROR"}).success);
    CHECK_FALSE(check_rcode(2, {"NOERROR"}).success);
    CHECK(check_rcode(2, {"NOERROR"}).message == "Rcode is not one of the valid rcodes");
    CHECK(check_rcode(2, {"NOERROR", "SERVFAIL"}).success);
    CHECK(check_rcode(4, {"NOTIMPL"}).success);
    CHECK(check_rcode(3, {"NXDOMAIN"}).success);
    CHECK_FALSE(check_rcode(0, {}).success);
    const auto bad = check_rcode(0, {"NOERROR", "BOGUS"});
    CHECK_FALSE(bad.success);
    CHECK(bad.message == "Invalid rcode");
    CHECK(bad.problem == "BOGUS");
    // The name is checked before comparing: a valid rcode listed first does not save it.
    CHECK_FALSE(check_rcode(0, {"NOERROR", "noerror"}).success);
}

TEST_CASE("check_rrs follows validRRs, rule by rule", "[unit][dns]") {
    struct Case {
        const char* what;
        config::DnsRrValidator validator;
        std::vector<std::string> rrs;
        bool success;
        const char* problem;
    };
    const std::vector<std::string> none;
    const std::vector<Case> cases = {
        {"empty validator passes", {}, kAdditional, true, ""},
        {"empty validator passes an empty section", {}, none, true, ""},
        {"fail_if_matches hit", make({"127.0.0.2"}, {}, {}, {}), kAdditional, false,
         "At least one RR matched regexp"},
        {"fail_if_matches miss", make({"10\\.0\\."}, {}, {}, {}), kAdditional, true, ""},
        {"fail_if_matches empty section", make({".*"}, {}, {}, {}), none, true, ""},
        {"fail_if_not_matches all match", make({}, {}, {"ns[12]\\.example"}, {}), kAdditional, true,
         ""},
        {"fail_if_not_matches one misses", make({}, {}, {"\\tA\\t"}, {}), kAdditional, false,
         "At least one RR did not match regexp"},
        {"fail_if_not_matches empty section", make({}, {}, {".*"}, {}), none, false,
         "fail_if_not_matches_regexp specified but no RRs returned"},
        // The exporter's TestAuthoritativeDNSResponse: ::1 does not match, so this fails.
        {"fail_if_all_match fails when not all match", make({}, {".*127.0.0.*"}, {}, {}),
         kAdditional, false, "Not all RRs matched regexp"},
        {"fail_if_all_match passes when all match", make({}, {"example\\.com"}, {}, {}),
         kAdditional, true, ""},
        {"fail_if_all_match every regex must match", make({}, {"example", "AAAA"}, {}, {}),
         kAdditional, false, "Not all RRs matched regexp"},
        {"fail_if_all_match passes an empty section", make({}, {".*"}, {}, {}), none, true, ""},
        {"fail_if_none_matches one matches", make({}, {}, {}, {"::1"}), kAdditional, true, ""},
        {"fail_if_none_matches nothing matches", make({}, {}, {}, {"10\\.1\\."}), kAdditional,
         false, "None of the RRs did matched any regexp"},
        {"fail_if_none_matches empty section", make({}, {}, {}, {".*"}), none, false,
         "fail_if_none_matches_regexp specified but no RRs returned"},
        {"regexes are unanchored searches", make({}, {}, {"IN"}, {}), kAdditional, true, ""},
        {"anchors see the whole record", make({}, {}, {"^ns1"}, {}), kAdditional, false,
         "At least one RR did not match regexp"},
        {"a broken regex fails when used", make({"("}, {}, {}, {}), kAdditional, false,
         "Error matching regexp"},
        {"a broken regex is never compiled-checked on an empty section", make({"("}, {}, {}, {}),
         none, true, ""},
        {"a broken regex of a later list fails at the first record", make({"AAAA"}, {}, {"("}, {}),
         kAdditional, false, "Error matching regexp"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const auto result = check_rrs("Additional RRs", c.rrs, c.validator);
        CHECK(result.success == c.success);
        CHECK(result.problem == c.problem);
        if (!c.success) {
            CHECK(result.message == "Additional RRs validation Failed");
        }
    }
}

TEST_CASE("check_rrs reports the record and regex involved", "[unit][dns]") {
    const auto r = check_rrs("Answer RRs", kAdditional, make({"127\\.0\\.0\\.2"}, {}, {}, {}));
    CHECK(r.regexp == "127\\.0\\.0\\.2");
    CHECK(r.rr == kAdditional[2]);
    const auto e = check_rrs("Answer RRs", kAdditional, make({}, {}, {}, {"[z-a]"}));
    CHECK(e.problem == "Error matching regexp");
    CHECK_FALSE(e.err.empty());
}

}  // namespace sonde::modules::dns

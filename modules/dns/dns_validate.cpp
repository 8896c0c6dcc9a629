#include "modules/dns/dns_validate.hpp"

#include <memory>
#include <optional>

#include <re2/re2.h>

#include "modules/dns/dns_message.hpp"

namespace sonde::modules::dns {
namespace {

// The regexes of one list, compiled once per check; a broken one reports its error when used.
class RegexList {
public:
    explicit RegexList(const std::vector<std::string>& patterns) : patterns_(patterns) {
        RE2::Options options;
        options.set_log_errors(false);
        for (const auto& pattern : patterns) {
            compiled_.push_back(std::make_unique<RE2>(pattern, options));
        }
    }

    std::size_t size() const { return patterns_.size(); }
    const std::string& pattern(std::size_t i) const { return patterns_[i]; }
    // nullopt with *error set when the regex does not compile.
    std::optional<bool> matches(std::size_t i, const std::string& subject,
                                std::string* error) const {
        const RE2& re = *compiled_[i];
        if (!re.ok()) {
            *error = "error parsing regexp: " + re.error();
            return std::nullopt;
        }
        return RE2::PartialMatch(subject, re);
    }

private:
    const std::vector<std::string>& patterns_;
    std::vector<std::unique_ptr<RE2>> compiled_;
};

CheckResult failure(const std::string& section, std::string problem, std::string regexp = {},
                    std::string rr = {}, std::string err = {}) {
    return CheckResult{false,
                       section + " validation Failed",
                       std::move(problem),
                       std::move(regexp),
                       std::move(rr),
                       std::move(err)};
}

}  // namespace

CheckResult check_rcode(int rcode, const std::vector<std::string>& valid_rcodes) {
    std::vector<int> valid;
    for (const auto& name : valid_rcodes) {
        auto code = rcode_from_name(name);
        if (!code) {
            CheckResult result;
            result.success = false;
            result.message = "Invalid rcode";
            result.problem = name;
            return result;
        }
        valid.push_back(*code);
    }
    for (int code : valid) {
        if (code == rcode) {
            return {};
        }
    }
    CheckResult result;
    result.success = false;
    result.message = "Rcode is not one of the valid rcodes";
    return result;
}

CheckResult check_rrs(const std::string& section, const std::vector<std::string>& rrs,
                      const config::DnsRrValidator& validator) {
    if (rrs.empty() && !validator.fail_if_not_matches_regexp.empty()) {
        return failure(section, "fail_if_not_matches_regexp specified but no RRs returned");
    }
    if (rrs.empty() && !validator.fail_if_none_matches_regexp.empty()) {
        return failure(section, "fail_if_none_matches_regexp specified but no RRs returned");
    }
    const RegexList matches(validator.fail_if_matches_regexp);
    const RegexList all_match(validator.fail_if_all_match_regexp);
    const RegexList not_matches(validator.fail_if_not_matches_regexp);
    const RegexList none_matches(validator.fail_if_none_matches_regexp);
    bool any_match = false;
    bool all_matched = true;
    std::string error;
    for (const auto& rr : rrs) {
        for (std::size_t i = 0; i < matches.size(); ++i) {
            auto m = matches.matches(i, rr, &error);
            if (!m) {
                return failure(section, "Error matching regexp", matches.pattern(i), {}, error);
            }
            if (*m) {
                return failure(section, "At least one RR matched regexp", matches.pattern(i), rr);
            }
        }
        for (std::size_t i = 0; i < all_match.size(); ++i) {
            auto m = all_match.matches(i, rr, &error);
            if (!m) {
                return failure(section, "Error matching regexp", all_match.pattern(i), {}, error);
            }
            all_matched = all_matched && *m;
        }
        for (std::size_t i = 0; i < not_matches.size(); ++i) {
            auto m = not_matches.matches(i, rr, &error);
            if (!m) {
                return failure(section, "Error matching regexp", not_matches.pattern(i), {}, error);
            }
            if (!*m) {
                return failure(section, "At least one RR did not match regexp",
                               not_matches.pattern(i), rr);
            }
        }
        for (std::size_t i = 0; i < none_matches.size(); ++i) {
            auto m = none_matches.matches(i, rr, &error);
            if (!m) {
                return failure(section, "Error matching regexp", none_matches.pattern(i), {},
                               error);
            }
            any_match = any_match || *m;
        }
    }
    if (all_match.size() > 0 && !all_matched) {
        return failure(section, "Not all RRs matched regexp");
    }
    if (none_matches.size() > 0 && !any_match) {
        return failure(section, "None of the RRs did matched any regexp");
    }
    return {};
}

}  // namespace sonde::modules::dns

#include "modules/http/response_checks.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <re2/re2.h>

#include "modules/common/header_names.hpp"

namespace sonde::modules::http {
namespace {

std::vector<const std::string*> values_of(const net::HttpHeaders& headers,
                                          const std::string& name) {
    std::vector<const std::string*> out;
    const std::string canonical = canonical_header_key(name);
    for (const auto& field : headers.fields()) {
        if (net::iequals(field.name, canonical)) {
            out.push_back(&field.value);
        }
    }
    return out;
}

bool matches(const config::Regex& regex, std::string_view text) {
    return regex.re != nullptr && RE2::PartialMatch(text, *regex.re);
}

}  // namespace

CheckResult check_status(const config::HttpProbe& cfg, int status_code) {
    const std::string code = std::to_string(status_code);
    if (!cfg.valid_status_codes.empty()) {
        const auto& codes = cfg.valid_status_codes;
        if (std::find(codes.begin(), codes.end(), status_code) != codes.end()) {
            return CheckResult::pass();
        }
        return CheckResult::fail("Invalid HTTP response status code", {{"status_code", code}});
    }
    if (status_code >= 200 && status_code < 300) {
        return CheckResult::pass();
    }
    return CheckResult::fail("Invalid HTTP response status code, wanted 2xx",
                             {{"status_code", code}});
}

CheckResult check_headers(const config::HttpProbe& cfg, const net::HttpHeaders& headers) {
    for (const auto& spec : cfg.fail_if_header_matches) {
        const auto values = values_of(headers, spec.header);
        if (values.empty()) {
            if (!spec.allow_missing) {
                return CheckResult::fail("Missing required header", {{"header", spec.header}});
            }
            continue;
        }
        for (const std::string* value : values) {
            if (matches(spec.regexp, *value)) {
                return CheckResult::fail("Header matched regular expression",
                                         {{"header", spec.header},
                                          {"regexp", spec.regexp.pattern},
                                          {"value_count", std::to_string(values.size())}});
            }
        }
    }
    for (const auto& spec : cfg.fail_if_header_not_matches) {
        const auto values = values_of(headers, spec.header);
        if (values.empty()) {
            if (!spec.allow_missing) {
                return CheckResult::fail("Missing required header", {{"header", spec.header}});
            }
            continue;
        }
        const bool any = std::any_of(values.begin(), values.end(), [&](const std::string* value) {
            return matches(spec.regexp, *value);
        });
        if (!any) {
            return CheckResult::fail("Header did not match regular expression",
                                     {{"header", spec.header},
                                      {"regexp", spec.regexp.pattern},
                                      {"value_count", std::to_string(values.size())}});
        }
    }
    return CheckResult::pass();
}

CheckResult check_body(const config::HttpProbe& cfg, std::string_view body) {
    for (const auto& regex : cfg.fail_if_body_matches_regexp) {
        if (matches(regex, body)) {
            return CheckResult::fail("Body matched regular expression",
                                     {{"regexp", regex.pattern}});
        }
    }
    for (const auto& regex : cfg.fail_if_body_not_matches_regexp) {
        if (!matches(regex, body)) {
            return CheckResult::fail("Body did not match regular expression",
                                     {{"regexp", regex.pattern}});
        }
    }
    return CheckResult::pass();
}

bool has_cel(const config::HttpProbe& cfg) {
    return !cfg.fail_if_body_json_matches_cel.empty() ||
           !cfg.fail_if_body_json_not_matches_cel.empty();
}

CheckResult check_cel(const config::HttpProbe& cfg) {
    const std::string& expression = !cfg.fail_if_body_json_matches_cel.empty()
                                        ? cfg.fail_if_body_json_matches_cel
                                        : cfg.fail_if_body_json_not_matches_cel;
    return CheckResult::fail("CEL is not supported by sonde yet", {{"expression", expression}});
}

CheckResult check_http_version(const config::HttpProbe& cfg, std::string_view proto) {
    if (cfg.valid_http_versions.empty()) {
        return CheckResult::pass();
    }
    const auto& versions = cfg.valid_http_versions;
    if (std::find(versions.begin(), versions.end(), proto) != versions.end()) {
        return CheckResult::pass();
    }
    return CheckResult::fail("Invalid HTTP version number", {{"version", std::string(proto)}});
}

CheckResult check_tls(const config::HttpProbe& cfg, bool over_tls, bool success_so_far) {
    if (over_tls) {
        if (cfg.fail_if_ssl) {
            return CheckResult::fail("Final request was over SSL");
        }
    } else if (cfg.fail_if_not_ssl && success_so_far) {
        return CheckResult::fail("Final request was not over SSL");
    }
    return CheckResult::pass();
}

std::optional<double> http_version_number(std::string_view proto) {
    if (proto.substr(0, 5) == "HTTP/") {
        proto.remove_prefix(5);
    }
    double value = 0;
    const auto* end = proto.data() + proto.size();
    const auto [ptr, ec] = std::from_chars(proto.data(), end, value);
    if (proto.empty() || ec != std::errc{} || ptr != end) {
        return std::nullopt;
    }
    return value;
}

}  // namespace sonde::modules::http

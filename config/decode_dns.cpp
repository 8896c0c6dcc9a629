// The `dns:` block, with DNSProbe.UnmarshalYAML's checks: query_name, then class, then type.
// The validator regexes stay strings: upstream compiles them per probe, so a bad one is a probe
// failure, not a config error.

#include "config/decoders.hpp"
#include "config/dns_names.hpp"

namespace sonde::config::detail {
namespace {

void decode_rr_validator(const YAML::Node& node, std::string_view type, DnsRrValidator& out) {
    decode_fields(node, type, [&](const std::string& key, const YAML::Node& value) {
        if (key == "fail_if_matches_regexp") {
            out.fail_if_matches_regexp = as_string_list(value);
        } else if (key == "fail_if_all_match_regexp") {
            out.fail_if_all_match_regexp = as_string_list(value);
        } else if (key == "fail_if_not_matches_regexp") {
            out.fail_if_not_matches_regexp = as_string_list(value);
        } else if (key == "fail_if_none_matches_regexp") {
            out.fail_if_none_matches_regexp = as_string_list(value);
        } else {
            return false;
        }
        return true;
    });
}

}  // namespace

void decode_dns(const YAML::Node& node, DnsProbe& out) {
    const Fields fields =
        decode_fields(node, "dns", [&](const std::string& key, const YAML::Node& value) {
            if (key == "preferred_ip_protocol") {
                out.preferred_ip_protocol = as_string(value);
            } else if (key == "ip_protocol_fallback") {
                out.ip_protocol_fallback = as_bool(value);
            } else if (key == "source_ip_address") {
                out.source_ip_address = as_string(value);
            } else if (key == "transport_protocol") {
                out.transport_protocol = as_string(value);
            } else if (key == "dns_over_tls") {
                out.dns_over_tls = as_bool(value);
            } else if (key == "tls_config") {
                decode_tls_config(value, out.tls_config);
            } else if (key == "query_name") {
                out.query_name = as_string(value);
            } else if (key == "query_type") {
                out.query_type = as_string(value);
            } else if (key == "query_class") {
                out.query_class = as_string(value);
            } else if (key == "recursion_desired") {
                out.recursion_desired = as_bool(value);
            } else if (key == "valid_rcodes") {
                out.valid_rcodes = as_string_list(value);
            } else if (key == "validate_answer_rrs") {
                decode_rr_validator(value, "validate_answer_rrs", out.validate_answer_rrs);
            } else if (key == "validate_authority_rrs") {
                decode_rr_validator(value, "validate_authority_rrs", out.validate_authority_rrs);
            } else if (key == "validate_additional_rrs") {
                decode_rr_validator(value, "validate_additional_rrs", out.validate_additional_rrs);
            } else {
                return false;
            }
            return true;
        });
    if (is_null(node)) {
        return;
    }
    if (out.query_name.empty()) {
        fail(fields.mark("query_name"), "query name must be set for DNS module");
    }
    if (!is_valid_dns_class(out.query_class)) {
        fail(fields.mark("query_class"), "query class '" + out.query_class + "' is not valid");
    }
    if (!is_valid_dns_type(out.query_type)) {
        fail(fields.mark("query_type"), "query type '" + out.query_type + "' is not valid");
    }
}

}  // namespace sonde::config::detail

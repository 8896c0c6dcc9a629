#pragma once

// The DNS type and class mnemonics the exporter accepts for `query_type` / `query_class`
// (miekg/dns StringToType and StringToClass): case-sensitive, upper-case.

#include <string_view>

namespace sonde::config {

bool is_valid_dns_type(std::string_view name);
bool is_valid_dns_class(std::string_view name);

}  // namespace sonde::config

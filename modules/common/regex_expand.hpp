#pragma once

// Go's Regexp.Expand for RE2 matches: `$1`, `${1}`, `$name`, `${name}`, `$$`.
// A name is the longest run of letters, digits and `_` (so `$1x` names group "1x", which does
// not exist and expands to nothing); a `$` not followed by a valid reference is copied as is.
// The query_response `send` and `labels` of the exporter use exactly this (tcp, websocket), on
// the groups find_submatches() returns.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

namespace sonde::modules {

// groups[i] is the text of submatch i (groups[0] the whole match); a group that did not take
// part holds a null data() pointer and expands to nothing.
std::string regex_expand(const re2::RE2& re, std::string_view tmpl,
                         const std::vector<re2::StringPiece>& groups);

// The submatches of an unanchored search of re in text (Go's FindSubmatchIndex), groups[0]
// being the whole match; nullopt when it does not match. The pieces point into text.
std::optional<std::vector<re2::StringPiece>> find_submatches(const re2::RE2& re,
                                                             std::string_view text);

}  // namespace sonde::modules

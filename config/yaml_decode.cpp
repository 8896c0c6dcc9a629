#include "config/yaml_decode.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <re2/re2.h>
#include <yaml-cpp/binary.h>

#include "config/duration.hpp"
#include "config/size.hpp"

namespace sonde::config::detail {
namespace {

constexpr std::string_view kBinaryTag = "tag:yaml.org,2002:binary";

const char* kind_name(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Sequence:
            return "a sequence";
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Null:
            return "null";
        case YAML::NodeType::Scalar:
            return "a scalar";
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing";
}

// The scalar text of a node meant to hold one value of `type`; anything else is a type error.
const std::string& scalar(const YAML::Node& node, std::string_view type) {
    if (!node.IsScalar()) {
        fail(node.Mark(),
             "cannot unmarshal " + std::string(kind_name(node)) + " into " + std::string(type));
    }
    return node.Scalar();
}

// A quoted scalar ("5") has the non-specific tag "!": it is a string, not a number or bool,
// and yaml.v3 refuses it where those are expected.
bool is_quoted(const YAML::Node& node) {
    return node.Tag() == "!";
}

[[noreturn]] void type_error(const YAML::Node& node, std::string_view type) {
    fail(node.Mark(), "cannot unmarshal \"" + node.Scalar() + "\" into " + std::string(type));
}

}  // namespace

void fail(const YAML::Mark& mark, std::string detail) {
    throw DecodeError{mark, std::move(detail)};
}

YAML::Mark Fields::mark(const std::string& key) const {
    const auto it = keys_.find(key);
    return it == keys_.end() ? block_ : it->second;
}

bool is_null(const YAML::Node& node) {
    return !node.IsDefined() || node.IsNull();
}

Fields decode_fields(const YAML::Node& node, std::string_view type, const FieldHandler& handler) {
    Fields fields(node.Mark());
    if (is_null(node)) {
        return fields;
    }
    if (!node.IsMap()) {
        fail(node.Mark(), "cannot unmarshal " + std::string(kind_name(node)) + " into " +
                              std::string(type) + " (expected a mapping)");
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
        // Copies: yaml-cpp's iterator hands out a temporary pair, and nodes are cheap handles.
        const YAML::Node key_node = it->first;
        const YAML::Node value = it->second;
        const std::string& key = scalar(key_node, "a key");
        if (fields.has(key)) {
            fail(key_node.Mark(), "mapping key \"" + key + "\" already defined at line " +
                                      std::to_string(fields.mark(key).line + 1));
        }
        fields.add(key, key_node.Mark());
        if (!handler(key, value)) {
            fail(key_node.Mark(), "unknown field \"" + key + "\" in " + std::string(type) +
                                      ": field " + key + " not found");
        }
    }
    return fields;
}

std::string as_string(const YAML::Node& node) {
    if (is_null(node)) {
        return {};
    }
    const std::string& text = scalar(node, "string");
    if (node.Tag() == kBinaryTag) {
        // yaml-cpp 0.7's DecodeBase64 indexes its table with a plain char, so a byte above 0x7f
        // reads before the table (found by the config_loader fuzzer): only base64's alphabet,
        // padding and whitespace reach it.
        const bool base64_bytes = std::all_of(text.begin(), text.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return std::isalnum(u) != 0 || c == '+' || c == '/' || c == '=' || std::isspace(u) != 0;
        });
        if (!base64_bytes) {
            fail(node.Mark(), "cannot decode !!binary value: invalid base64");
        }
        const std::vector<unsigned char> bytes = YAML::DecodeBase64(text);
        if (bytes.empty() && !text.empty()) {
            fail(node.Mark(), "cannot decode !!binary value: invalid base64");
        }
        return {bytes.begin(), bytes.end()};
    }
    return text;
}

Secret as_secret(const YAML::Node& node) {
    return Secret{as_string(node)};
}

bool as_bool(const YAML::Node& node) {
    if (is_null(node)) {
        return false;
    }
    const std::string& text = scalar(node, "bool");
    // YAML 1.1 spellings, which yaml.v3 still accepts for a bool field.
    static constexpr std::string_view kTrue[] = {"true", "True", "TRUE", "yes", "Yes",
                                                 "YES",  "on",   "On",   "ON"};
    static constexpr std::string_view kFalse[] = {"false", "False", "FALSE", "no", "No",
                                                  "NO",    "off",   "Off",   "OFF"};
    if (!is_quoted(node)) {
        for (std::string_view t : kTrue) {
            if (text == t) {
                return true;
            }
        }
        for (std::string_view f : kFalse) {
            if (text == f) {
                return false;
            }
        }
    }
    type_error(node, "bool");
}

std::int64_t as_int(const YAML::Node& node) {
    if (is_null(node)) {
        return 0;
    }
    const std::string& text = scalar(node, "int");
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '+') {
        digits.remove_prefix(1);
    }
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (is_quoted(node) || digits.empty() || ec != std::errc() ||
        end != digits.data() + digits.size()) {
        type_error(node, "int");
    }
    return value;
}

int as_int_in(const YAML::Node& node, std::int64_t min, std::int64_t max) {
    const std::int64_t value = as_int(node);
    if (value < min || value > max) {
        fail(node.Mark(), "value " + std::to_string(value) + " is out of range");
    }
    return static_cast<int>(value);
}

std::string position_prefix(const std::string& source, const YAML::Mark& mark) {
    // yaml-cpp counts from 0; editors and the exporter count from 1. A mark of -1 (no position)
    // is shown as line 1 column 1 rather than as a negative number.
    const int line = mark.line < 0 ? 1 : mark.line + 1;
    const int column = mark.column < 0 ? 1 : mark.column + 1;
    return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
}

Duration as_duration(const YAML::Node& node) {
    if (is_null(node)) {
        return Duration{0};
    }
    const std::string& text = scalar(node, "duration");
    // yaml.v3 hands only strings to time.ParseDuration; a plain integer (even 0) is refused.
    if (!is_quoted(node) && !text.empty() &&
        text.find_first_not_of("+-0123456789") == std::string::npos) {
        fail(node.Mark(),
             "cannot unmarshal \"" + text + "\" into duration: a duration needs a unit, e.g. 5s");
    }
    Result<Duration> parsed = parse_go_duration(text);
    if (!parsed) {
        fail(node.Mark(), parsed.error());
    }
    return *parsed;
}

std::int64_t as_size(const YAML::Node& node) {
    if (is_null(node)) {
        return 0;
    }
    Result<std::int64_t> parsed = parse_base2_bytes(scalar(node, "size"));
    if (!parsed) {
        fail(node.Mark(), parsed.error());
    }
    return *parsed;
}

Regex compile_regex(const std::string& pattern, const YAML::Mark& mark) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const re2::RE2>(pattern, options);
    if (!re->ok()) {
        // The exporter's wording, without RE2's own reason, so messages match upstream's.
        fail(mark, "\"Could not compile regular expression\" regexp=\"" + pattern + "\"");
    }
    return Regex{pattern, std::move(re)};
}

Regex as_regex(const YAML::Node& node) {
    return compile_regex(as_string(node), node.Mark());
}

void for_each_item(const YAML::Node& node, std::string_view type,
                   const std::function<void(const YAML::Node&)>& handler) {
    if (is_null(node)) {
        return;
    }
    if (!node.IsSequence()) {
        fail(node.Mark(), "cannot unmarshal " + std::string(kind_name(node)) + " into " +
                              std::string(type) + " (expected a sequence)");
    }
    for (const YAML::Node& item : node) {
        handler(item);
    }
}

std::vector<std::string> as_string_list(const YAML::Node& node) {
    std::vector<std::string> out;
    for_each_item(node, "list of strings",
                  [&](const YAML::Node& item) { out.push_back(as_string(item)); });
    return out;
}

std::vector<Regex> as_regex_list(const YAML::Node& node) {
    std::vector<Regex> out;
    for_each_item(node, "list of regular expressions",
                  [&](const YAML::Node& item) { out.push_back(as_regex(item)); });
    return out;
}

}  // namespace sonde::config::detail

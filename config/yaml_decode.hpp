#pragma once

// Strict YAML decoding primitives shared by the block decoders (internal to sonde_config).
//
// Decoding throws DecodeError, which load_config_text() catches and turns into a Result error
// "<source>:<line>:<column>: <detail>"; exceptions never leave the loader (STYLE: exceptions
// only at config load). Each helper takes the YAML node whose Mark() the error must point at.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"

namespace sonde::config::detail {

struct DecodeError {
    YAML::Mark mark;
    std::string detail;
};

[[noreturn]] void fail(const YAML::Mark& mark, std::string detail);

// "<source>:<line>:<column>: ", the prefix of every message about a position in a file.
std::string position_prefix(const std::string& source, const YAML::Mark& mark);

// State shared by one load: where warnings go, with their position.
// Checks that need the whole file (a target naming a module defined further down) are queued by
// the section decoders and run, in order, once every section is decoded.
struct DecodeContext {
    std::vector<std::pair<YAML::Mark, std::string>> warnings;
    std::vector<std::function<void(const Config&)>> after_decode;
};

// The keys seen in one mapping, so that checks made after decoding can point at the key they
// are about ("body_file" for body vs body_file).
class Fields {
public:
    explicit Fields(YAML::Mark block) : block_(block) {}
    void add(const std::string& key, YAML::Mark mark) { keys_.emplace(key, mark); }
    bool has(const std::string& key) const { return keys_.count(key) != 0; }
    // The key's position, or the block's when the key was not written.
    YAML::Mark mark(const std::string& key) const;
    YAML::Mark block() const { return block_; }

private:
    YAML::Mark block_;
    std::map<std::string, YAML::Mark> keys_;
};

// Handles one key of a mapping; returns false when the key is not known to the block.
using FieldHandler = std::function<bool(const std::string& key, const YAML::Node& value)>;

// Walks a mapping strictly: a non-mapping, a duplicate key or a key the handler does not know
// is an error. `type` names the block in messages ("tls_config", "dns"). Null is an empty map.
Fields decode_fields(const YAML::Node& node, std::string_view type, const FieldHandler& handler);

bool is_null(const YAML::Node& node);

// Scalars. Null decodes to the zero value, as yaml.v3 does.
std::string as_string(const YAML::Node& node);  // any scalar; !!binary is base64-decoded
bool as_bool(const YAML::Node& node);
std::int64_t as_int(const YAML::Node& node);
int as_int_in(const YAML::Node& node, std::int64_t min, std::int64_t max);
Duration as_duration(const YAML::Node& node);
std::int64_t as_size(const YAML::Node& node);
Regex as_regex(const YAML::Node& node);
Secret as_secret(const YAML::Node& node);

// Sequences and maps of scalars. Null is empty.
void for_each_item(const YAML::Node& node, std::string_view type,
                   const std::function<void(const YAML::Node&)>& handler);
std::vector<std::string> as_string_list(const YAML::Node& node);
std::vector<Regex> as_regex_list(const YAML::Node& node);

// Compiles an RE2 pattern; errors carry the exporter's wording.
Regex compile_regex(const std::string& pattern, const YAML::Mark& mark);

}  // namespace sonde::config::detail

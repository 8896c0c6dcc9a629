#pragma once

// HttpRequest and the pieces it is made of: case-insensitive headers and Go-compatible query
// string parsing. Plain values with no loop affinity; HttpServer fills them in.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prober/core/result.hpp"

namespace sonde::net {

// ASCII case-insensitive equality, as header names compare (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b);

// Header fields in arrival order. Lookups are case-insensitive and return the first match;
// names keep the case they were sent with.
class HttpHeaders {
public:
    struct Field {
        std::string name;
        std::string value;
    };

    void add(std::string name, std::string value);
    // Replaces every field called name by one field (or adds it).
    void set(std::string_view name, std::string value);
    void remove(std::string_view name);
    // The first value of name, or nullptr when absent.
    const std::string* find(std::string_view name) const;
    bool contains(std::string_view name) const { return find(name) != nullptr; }
    // Every value of name, comma-joined as RFC 9110 §5.3 allows for list-valued fields.
    std::string joined(std::string_view name) const;

    const std::vector<Field>& fields() const { return fields_; }
    std::size_t size() const { return fields_.size(); }
    bool empty() const { return fields_.empty(); }

private:
    std::vector<Field> fields_;
};

// Decoded query parameters in their order of appearance. Like Go's url.Values.Get, get()
// returns the first value of a repeated key.
class QueryParams {
public:
    struct Param {
        std::string key;
        std::string value;
    };

    void add(std::string key, std::string value);
    // The first value of key, or nullptr when absent. An empty value ("a=" or "a") is present.
    const std::string* get(std::string_view key) const;
    bool has(std::string_view key) const { return get(key) != nullptr; }
    std::vector<std::string> all(std::string_view key) const;

    const std::vector<Param>& params() const { return params_; }
    std::size_t size() const { return params_.size(); }
    bool empty() const { return params_.empty(); }

private:
    std::vector<Param> params_;
};

// Percent-decodes as Go's url.QueryUnescape: "%XX" needs two hex digits and "+" is a space.
// The error reads as Go's: `invalid URL escape "%zz"`.
Result<std::string> query_unescape(std::string_view text);
// Percent-decodes a path as Go's url.PathUnescape: "+" stays "+".
Result<std::string> path_unescape(std::string_view text);

// Parses a raw query string as Go's url.ParseQuery: pairs split on '&', key and value on the
// first '=', both query-unescaped, empty pairs skipped, a ';' in a pair is an error. Go also
// returns the pairs that did parse along with the first error; sonde rejects the whole query
// (the endpoints answer 400), so only the error is returned.
Result<QueryParams> parse_query(std::string_view raw);

struct HttpRequest {
    std::string method;  // "GET", as llhttp names it
    std::string target;  // the request-target exactly as sent: "/probe?target=a%3Ab"
    std::string path;    // percent-decoded path: "/probe"
    std::string query;   // raw query, without '?': "target=a%3Ab"
    HttpHeaders headers;
    std::string body;
    int http_major = 1;
    int http_minor = 1;
    // What the client asked for (HTTP/1.1 default on, Connection: close, HTTP/1.0 keep-alive).
    bool keep_alive = true;
    std::string peer;  // "ip:port" of the client, for logs

    // The first value of a header, or nullptr.
    const std::string* header(std::string_view name) const { return headers.find(name); }
    // Whether Accept-Encoding admits gzip: "gzip"/"x-gzip" with q > 0, or "*" with q > 0
    // when gzip is not itself listed.
    bool accepts_gzip() const;
    // parse_query(query).
    Result<QueryParams> query_params() const { return parse_query(query); }
};

// Splits a request-target into raw path and raw query. Accepts origin-form ("/a?b"),
// absolute-form ("http://host/a?b", whose authority is dropped) and "*". Percent-decodes the
// path. Errors describe why the target is unusable (for a 400).
struct SplitTarget {
    std::string path;
    std::string query;
};
Result<SplitTarget> split_target(std::string_view target);

}  // namespace sonde::net

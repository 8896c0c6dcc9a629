#pragma once

// The Kubernetes API's wire shapes that the reflector reads: the watch stream's framing (one
// JSON value per event, split across chunks at arbitrary bytes, several per chunk), watch
// events, list pages, and Status objects. Plain values, no loop affinity, no exceptions.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "prober/core/result.hpp"

namespace sonde::discovery::kubernetes {

// Cuts a byte stream into top-level JSON values by tracking brace and bracket depth outside
// strings, so it needs neither the API server's trailing '\n' nor aligned chunks (client-go
// decodes consecutive values the same way). Whitespace between values is skipped.
class JsonStreamFramer {
public:
    // A value bigger than this is an error rather than unbounded memory.
    explicit JsonStreamFramer(std::size_t max_value_bytes = 16 * 1024 * 1024)
        : max_value_bytes_(max_value_bytes) {}

    // Appends data and calls on_value for every value completed by it, in order. An error
    // (a value too big, or bytes that cannot start a JSON object or array) is final.
    [[nodiscard]] Result<void> feed(std::string_view data,
                                    const std::function<void(std::string_view value)>& on_value);
    // Bytes held of a value not complete yet.
    std::size_t pending() const { return buffer_.size(); }
    void reset();

private:
    std::string buffer_;
    std::size_t scanned_ = 0;  // bytes of buffer_ already scanned
    int depth_ = 0;
    bool in_string_ = false;
    bool escaped_ = false;
    std::size_t max_value_bytes_;
};

// A Status object (also the body of error answers): code mirrors the HTTP status.
struct ApiStatus {
    int code = 0;
    std::string reason;  // "Expired", "Gone", "Forbidden", ...
    std::string message;
};

// Reads a Status from a JSON object; fields missing are left empty.
ApiStatus status_from_json(const nlohmann::json& object);
// The Status in an error answer's body, or one made of the HTTP status when the body is not
// JSON: "the server answered 503".
ApiStatus status_from_body(int http_status, std::string_view body);
// 410 with reason Expired or Gone (or no reason): the resource version is too old.
bool is_expired(const ApiStatus& status);

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

struct WatchEvent {
    WatchEventType type = WatchEventType::Added;
    nlohmann::json object;
    // object.metadata.resourceVersion ("" for ERROR).
    std::string resource_version;
};

[[nodiscard]] Result<WatchEvent> parse_watch_event(std::string_view text);

// One page of a list: its items, the list's resourceVersion and continue token.
struct ListPage {
    std::vector<nlohmann::json> items;
    std::string resource_version;
    std::string continue_token;
};

[[nodiscard]] Result<ListPage> parse_list_page(std::string_view body);

// "<namespace>/<name>" of an object's metadata; "" when either is missing.
std::string object_key(const nlohmann::json& object);
// metadata.resourceVersion of an object; "" when missing.
std::string resource_version_of(const nlohmann::json& object);

}  // namespace sonde::discovery::kubernetes

#include "discovery/kubernetes/watch_events.hpp"

#include "discovery/kubernetes/json_member.hpp"

namespace sonde::discovery::kubernetes {
namespace {

using nlohmann::json;

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

std::string string_at(const json& object, std::string_view a, std::string_view b = {}) {
    const json* value = json_member(object, a);
    if (value != nullptr && !b.empty()) {
        value = json_member(*value, b);
    }
    return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

}  // namespace

Result<void> JsonStreamFramer::feed(std::string_view data,
                                    const std::function<void(std::string_view value)>& on_value) {
    buffer_.append(data);
    std::size_t start = 0;  // where the value being scanned begins in buffer_
    std::size_t i = scanned_;
    while (i < buffer_.size()) {
        const char c = buffer_[i];
        if (depth_ == 0) {
            // Between values: only whitespace, then '{' or '['.
            if (is_space(c)) {
                ++i;
                start = i;
                continue;
            }
            if (c != '{' && c != '[') {
                buffer_.clear();
                scanned_ = 0;
                return unexpected(std::string("watch stream: unexpected byte '") + c +
                                  "' between events");
            }
            depth_ = 1;
            ++i;
            continue;
        }
        if (in_string_) {
            if (escaped_) {
                escaped_ = false;
            } else if (c == '\\') {
                escaped_ = true;
            } else if (c == '"') {
                in_string_ = false;
            }
        } else if (c == '"') {
            in_string_ = true;
        } else if (c == '{' || c == '[') {
            ++depth_;
        } else if (c == '}' || c == ']') {
            --depth_;
            if (depth_ == 0) {
                on_value(std::string_view(buffer_).substr(start, i + 1 - start));
                start = i + 1;
            }
        }
        ++i;
    }
    buffer_.erase(0, start);
    scanned_ = buffer_.size();
    if (buffer_.size() > max_value_bytes_) {
        buffer_.clear();
        scanned_ = 0;
        return unexpected("watch stream: an event is larger than " +
                          std::to_string(max_value_bytes_) + " bytes");
    }
    return {};
}

void JsonStreamFramer::reset() {
    buffer_.clear();
    scanned_ = 0;
    depth_ = 0;
    in_string_ = false;
    escaped_ = false;
}

ApiStatus status_from_json(const json& object) {
    ApiStatus status;
    if (const json* code = json_member(object, "code");
        code != nullptr && code->is_number_integer()) {
        status.code = code->get<int>();
    }
    status.reason = string_at(object, "reason");
    status.message = string_at(object, "message");
    return status;
}

ApiStatus status_from_body(int http_status, std::string_view body) {
    const json parsed = json::parse(body, nullptr, false);
    ApiStatus status;
    if (!parsed.is_discarded() && string_at(parsed, "kind") == "Status") {
        status = status_from_json(parsed);
    }
    if (status.code == 0) {
        status.code = http_status;
    }
    if (status.message.empty()) {
        status.message = "the server answered " + std::to_string(http_status);
    }
    return status;
}

bool is_expired(const ApiStatus& status) {
    return status.code == 410 &&
           (status.reason.empty() || status.reason == "Expired" || status.reason == "Gone");
}

Result<WatchEvent> parse_watch_event(std::string_view text) {
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return unexpected("watch stream: an event is not a JSON object");
    }
    const std::string type = string_at(parsed, "type");
    WatchEvent event;
    if (type == "ADDED") {
        event.type = WatchEventType::Added;
    } else if (type == "MODIFIED") {
        event.type = WatchEventType::Modified;
    } else if (type == "DELETED") {
        event.type = WatchEventType::Deleted;
    } else if (type == "BOOKMARK") {
        event.type = WatchEventType::Bookmark;
    } else if (type == "ERROR") {
        event.type = WatchEventType::Error;
    } else {
        return unexpected("watch stream: unknown event type \"" + type + "\"");
    }
    auto it = parsed.find("object");
    if (it == parsed.end() || !it->is_object()) {
        return unexpected("watch stream: a " + type + " event without an object");
    }
    event.object = std::move(*it);
    if (event.type != WatchEventType::Error) {
        event.resource_version = string_at(event.object, "metadata", "resourceVersion");
        if (event.resource_version.empty()) {
            return unexpected("watch stream: a " + type +
                              " event without metadata.resourceVersion");
        }
    }
    return event;
}

Result<ListPage> parse_list_page(std::string_view body) {
    json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return unexpected("list: the answer is not a JSON object");
    }
    ListPage page;
    page.resource_version = string_at(parsed, "metadata", "resourceVersion");
    page.continue_token = string_at(parsed, "metadata", "continue");
    if (page.resource_version.empty()) {
        return unexpected("list: the answer has no metadata.resourceVersion");
    }
    auto it = parsed.find("items");
    if (it != parsed.end() && !it->is_null()) {
        if (!it->is_array()) {
            return unexpected("list: items is not an array");
        }
        page.items.reserve(it->size());
        for (json& item : *it) {
            page.items.push_back(std::move(item));
        }
    }
    return page;
}

std::string object_key(const json& object) {
    const json* metadata = json_member(object, "metadata");
    if (metadata == nullptr) {
        return {};
    }
    std::string ns = string_at(*metadata, "namespace");
    std::string name = string_at(*metadata, "name");
    if (name.empty()) {
        return {};
    }
    return ns + "/" + name;
}

std::string resource_version_of(const json& object) {
    return string_at(object, "metadata", "resourceVersion");
}

}  // namespace sonde::discovery::kubernetes

#include "tests/support/fake_kube_api.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <deque>
#include <future>
#include <list>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include <llhttp.h>
#include <openssl/evp.h>
#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/http_request.hpp"
#include "prober/net/http_response.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"
#include "prober/net/tls_context.hpp"
#include "prober/net/tls_session.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde::test {

using nlohmann::json;

namespace {

constexpr std::uint64_t kInitialResourceVersion = 100;
// A client that sends requests while its watch streams (real clients do not) is cut off once
// this much is buffered.
constexpr std::size_t kMaxBufferedInput = 1024 * 1024;

constexpr std::size_t index_of(KubeKind kind) {
    return kind == KubeKind::Service ? 0 : 1;
}

std::string kind_name(KubeKind kind) {
    return kind == KubeKind::Service ? "Service" : "Ingress";
}

std::string api_version(KubeKind kind) {
    return kind == KubeKind::Service ? "v1" : "networking.k8s.io/v1";
}

enum class EventType { Added, Modified, Deleted };

const char* event_type_name(EventType type) {
    switch (type) {
        case EventType::Added:
            return "ADDED";
        case EventType::Modified:
            return "MODIFIED";
        case EventType::Deleted:
            return "DELETED";
    }
    return "ERROR";
}

// Objects are stored as lists return them: without kind and apiVersion.
using Key = std::pair<std::string, std::string>;  // namespace, name
using Store = std::map<Key, json>;

struct HistoryEntry {
    std::uint64_t rv = 0;
    EventType type = EventType::Added;
    KubeKind kind = KubeKind::Service;
    json object;    // the state after the change; DELETED: the last state, stamped with rv
    json previous;  // MODIFIED: the state before; null otherwise
};

struct Failure {
    int remaining = 0;
    int status = 0;
    int retry_after_s = 0;
    KubeVerb verb = KubeVerb::Any;
    std::optional<KubeKind> kind;
    bool bad_json = false;  // corrupt_next(): 200 with a body that is not JSON
};

json with_kind(KubeKind kind, json object) {
    object["kind"] = kind_name(kind);
    object["apiVersion"] = api_version(kind);
    return object;
}

std::string reason_for(int status) {
    switch (status) {
        case 400:
            return "BadRequest";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "NotFound";
        case 405:
            return "MethodNotAllowed";
        case 409:
            return "Conflict";
        case 410:
            return "Expired";
        case 422:
            return "Invalid";
        case 429:
            return "TooManyRequests";
        case 500:
            return "InternalError";
        case 503:
            return "ServiceUnavailable";
        case 504:
            return "Timeout";
        default:
            return "Unknown";
    }
}

json status_object(int code, const std::string& message, std::string reason = {}) {
    return json{{"kind", "Status"},
                {"apiVersion", "v1"},
                {"metadata", json::object()},
                {"status", "Failure"},
                {"message", message},
                {"reason", reason.empty() ? reason_for(code) : std::move(reason)},
                {"code", code}};
}

std::string now_rfc3339() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::array<char, 32> buffer{};
    const std::size_t n = std::strftime(buffer.data(), buffer.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buffer.data(), n);
}

std::string base64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string hex_encode(std::string_view data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (const char c : data) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(kDigits[byte >> 4U]);
        out.push_back(kDigits[byte & 0x0fU]);
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        unsigned value = 0;
        const auto r = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
        if (r.ec != std::errc{} || r.ptr != text.data() + i + 2) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(value));
    }
    return out;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    std::uint64_t value = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::string trim(std::string_view text) {
    const auto begin = text.find_first_not_of(" \t");
    if (begin == std::string_view::npos) {
        return {};
    }
    const auto end = text.find_last_not_of(" \t");
    return std::string(text.substr(begin, end - begin + 1));
}

// ---- Selectors ----

struct LabelRequirement {
    enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
    std::string key;
    Op op = Op::Exists;
    std::vector<std::string> values;
};

struct FieldRequirement {
    std::string field;  // metadata.name or metadata.namespace
    bool equals = true;
    std::string value;
};

struct Filter {
    std::optional<std::string> namespace_name;
    std::vector<LabelRequirement> labels;
    std::vector<FieldRequirement> fields;
};

// Splits on commas outside parentheses: "a in (x,y),b" is two requirements.
std::vector<std::string> split_requirements(std::string_view text) {
    std::vector<std::string> parts;
    std::string current;
    int depth = 0;
    for (const char c : text) {
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            --depth;
        }
        if (c == ',' && depth == 0) {
            parts.push_back(trim(current));
            current.clear();
            continue;
        }
        current.push_back(c);
    }
    parts.push_back(trim(current));
    return parts;
}

Result<std::vector<std::string>> parse_value_set(std::string_view text) {
    const auto open = text.find('(');
    const auto close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open ||
        !trim(text.substr(0, open)).empty() || !trim(text.substr(close + 1)).empty()) {
        return unexpected("found '" + std::string(text) + "', expected: '(' ... ')'");
    }
    std::vector<std::string> values;
    std::string_view inner = text.substr(open + 1, close - open - 1);
    while (true) {
        const auto comma = inner.find(',');
        values.push_back(trim(inner.substr(0, comma)));
        if (comma == std::string_view::npos) {
            break;
        }
        inner.remove_prefix(comma + 1);
    }
    return values;
}

Result<std::vector<LabelRequirement>> parse_label_selector(std::string_view text) {
    std::vector<LabelRequirement> out;
    if (trim(text).empty()) {
        return out;
    }
    for (const auto& part : split_requirements(text)) {
        const auto bad = [&part] {
            return unexpected("unable to parse requirement: invalid label selector: '" + part +
                              "'");
        };
        if (part.empty()) {
            return bad();
        }
        LabelRequirement req;
        if (part.front() == '!') {
            req.key = trim(std::string_view(part).substr(1));
            req.op = LabelRequirement::Op::DoesNotExist;
        } else if (auto pos = part.find("!="); pos != std::string::npos) {
            req.key = trim(std::string_view(part).substr(0, pos));
            req.op = LabelRequirement::Op::NotEquals;
            req.values = {trim(std::string_view(part).substr(pos + 2))};
        } else if (auto eq2 = part.find("=="); eq2 != std::string::npos) {
            req.key = trim(std::string_view(part).substr(0, eq2));
            req.op = LabelRequirement::Op::Equals;
            req.values = {trim(std::string_view(part).substr(eq2 + 2))};
        } else if (auto eq = part.find('='); eq != std::string::npos) {
            req.key = trim(std::string_view(part).substr(0, eq));
            req.op = LabelRequirement::Op::Equals;
            req.values = {trim(std::string_view(part).substr(eq + 1))};
        } else if (auto notin = part.find(" notin "); notin != std::string::npos) {
            req.key = trim(std::string_view(part).substr(0, notin));
            req.op = LabelRequirement::Op::NotIn;
            auto values = parse_value_set(std::string_view(part).substr(notin + 7));
            if (!values) {
                return bad();
            }
            req.values = std::move(*values);
        } else if (auto in = part.find(" in "); in != std::string::npos) {
            req.key = trim(std::string_view(part).substr(0, in));
            req.op = LabelRequirement::Op::In;
            auto values = parse_value_set(std::string_view(part).substr(in + 4));
            if (!values) {
                return bad();
            }
            req.values = std::move(*values);
        } else {
            req.key = part;
            req.op = LabelRequirement::Op::Exists;
        }
        if (req.key.empty() || req.key.find_first_of(" ()!=") != std::string::npos) {
            return bad();
        }
        out.push_back(std::move(req));
    }
    return out;
}

Result<std::vector<FieldRequirement>> parse_field_selector(std::string_view text) {
    std::vector<FieldRequirement> out;
    if (trim(text).empty()) {
        return out;
    }
    for (const auto& part : split_requirements(text)) {
        FieldRequirement req;
        std::size_t key_end = 0;
        std::size_t value_start = 0;
        if (auto ne = part.find("!="); ne != std::string::npos) {
            req.equals = false;
            key_end = ne;
            value_start = ne + 2;
        } else if (auto eq2 = part.find("=="); eq2 != std::string::npos) {
            key_end = eq2;
            value_start = eq2 + 2;
        } else if (auto eq = part.find('='); eq != std::string::npos) {
            key_end = eq;
            value_start = eq + 1;
        } else {
            return unexpected("invalid selector: '" + part + "'; can't understand '" + part + "'");
        }
        req.field = trim(std::string_view(part).substr(0, key_end));
        req.value = trim(std::string_view(part).substr(value_start));
        if (req.field != "metadata.name" && req.field != "metadata.namespace") {
            return unexpected("field label not supported: " + req.field);
        }
        out.push_back(std::move(req));
    }
    return out;
}

std::optional<std::string> label_of(const json& object, const std::string& key) {
    const auto meta = object.find("metadata");
    if (meta == object.end()) {
        return std::nullopt;
    }
    const auto labels = meta->find("labels");
    if (labels == meta->end() || !labels->is_object()) {
        return std::nullopt;
    }
    const auto value = labels->find(key);
    if (value == labels->end() || !value->is_string()) {
        return std::nullopt;
    }
    return value->get<std::string>();
}

std::string meta_string(const json& object, const char* field) {
    const auto meta = object.find("metadata");
    if (meta == object.end()) {
        return {};
    }
    const auto value = meta->find(field);
    return value != meta->end() && value->is_string() ? value->get<std::string>() : std::string();
}

bool matches(const json& object, const Filter& filter) {
    if (filter.namespace_name && meta_string(object, "namespace") != *filter.namespace_name) {
        return false;
    }
    for (const auto& req : filter.labels) {
        const auto value = label_of(object, req.key);
        const auto in_values = [&] {
            return value &&
                   std::find(req.values.begin(), req.values.end(), *value) != req.values.end();
        };
        bool ok = true;
        switch (req.op) {
            case LabelRequirement::Op::Equals:
            case LabelRequirement::Op::In:
                ok = in_values();
                break;
            case LabelRequirement::Op::NotEquals:
            case LabelRequirement::Op::NotIn:
                ok = !in_values();
                break;
            case LabelRequirement::Op::Exists:
                ok = value.has_value();
                break;
            case LabelRequirement::Op::DoesNotExist:
                ok = !value.has_value();
                break;
        }
        if (!ok) {
            return false;
        }
    }
    for (const auto& req : filter.fields) {
        const std::string actual =
            meta_string(object, req.field == "metadata.name" ? "name" : "namespace");
        if ((actual == req.value) != req.equals) {
            return false;
        }
    }
    return true;
}

// ---- HTTP framing ----

std::string response_head(int status,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::optional<std::size_t> content_length, bool close) {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(net::http_reason_phrase(status)) + "\r\n";
    head += "Content-Type: application/json\r\n";
    head += "Cache-Control: no-cache, private\r\n";
    for (const auto& [name, value] : headers) {
        head += name + ": " + value + "\r\n";
    }
    if (content_length) {
        head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
    } else {
        head += "Transfer-Encoding: chunked\r\n";
    }
    if (close) {
        head += "Connection: close\r\n";
    }
    head += "\r\n";
    return head;
}

std::string chunk(std::string_view data) {
    std::array<char, 16> hex{};
    const auto r = std::to_chars(hex.data(), hex.data() + hex.size(), data.size(), 16);
    std::string out(hex.data(), r.ptr);
    out += "\r\n";
    out += data;
    out += "\r\n";
    return out;
}

constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace

std::string kube_resource_name(KubeKind kind) {
    return kind == KubeKind::Service ? "services" : "ingresses";
}

std::string RecordedRequest::header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
        if (net::iequals(n, name)) {
            return v;
        }
    }
    return {};
}

std::optional<std::string> RecordedRequest::param(const std::string& key) const {
    auto params = net::parse_query(query);
    if (!params) {
        return std::nullopt;
    }
    const std::string* value = params->get(key);
    return value != nullptr ? std::optional<std::string>(*value) : std::nullopt;
}

// ---- State shared by both threads ----

struct FakeKubeApi::State {
    mutable std::mutex mu;
    mutable std::condition_variable changed;

    // Guarded by mu.
    std::array<Store, 2> stores;
    std::vector<HistoryEntry> history;
    std::uint64_t rv = kInitialResourceVersion;
    std::uint64_t compacted = 0;
    std::uint64_t next_uid = 1;
    std::vector<std::string> tokens;
    WatchFraming framing;
    bool expired_as_http_410 = false;
    bool stall_watches = false;
    std::uint64_t response_delay_ms = 0;
    std::size_t max_page_size = 0;
    std::uint64_t bookmark_interval_ms = 0;
    Failure failure;
    std::array<KubeRequestCounts, 2> counts{};
    std::uint64_t unauthorized = 0;
    std::vector<RecordedRequest> log;
    std::array<std::size_t, 2> open_watches{};
    std::uint64_t accepted = 0;
    std::uint16_t port = 0;
    bool running = false;

    // Talking to the server thread: commands run there when `async` is signalled. `async` is
    // set while the thread can receive them and cleared (under mu) before the handle closes.
    uv_async_t* async = nullptr;
    std::vector<std::function<void(Server&)>> commands;

    // Wakes the server thread. Call with mu held.
    void wake_locked() const {
        if (async != nullptr) {
            uv_async_send(async);
        }
    }
    // Tells blocking waiters that something observable changed. Call with mu held.
    void notify_locked() const { changed.notify_all(); }

    // The store of `kind` as it was at resourceVersion `at` (rebuilt from the full history,
    // which compaction only hides).
    Store snapshot_locked(KubeKind kind, std::uint64_t at) const {
        if (at >= rv) {
            return stores[index_of(kind)];
        }
        Store out;
        for (const auto& entry : history) {
            if (entry.rv > at) {
                break;
            }
            if (entry.kind != kind) {
                continue;
            }
            const Key key{meta_string(entry.object, "namespace"),
                          meta_string(entry.object, "name")};
            if (entry.type == EventType::Deleted) {
                out.erase(key);
            } else {
                out[key] = entry.object;
            }
        }
        return out;
    }
};

namespace {

// The pieces of one watch: what it selects and where it is in the history.
struct WatchSpec {
    KubeKind kind = KubeKind::Service;
    Filter filter;
    std::size_t cursor = 0;  // next history index to consider
    bool bookmarks = false;
    std::uint64_t timeout_ms = 0;
    std::uint64_t bookmark_interval_ms = 0;
};

// A request parsed far enough to route.
struct Route {
    enum class Type { Discovery, Collection, Object, Namespaces, Namespace, NotFound };
    Type type = Type::NotFound;
    KubeKind kind = KubeKind::Service;
    std::optional<std::string> namespace_name;
    std::string name;
};

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        if (end > start) {
            out.emplace_back(path.substr(start, end - start));
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return out;
}

Route route(const std::string& path) {
    Route r;
    if (path == "/version" || path == "/api" || path == "/api/v1" || path == "/apis" ||
        path == "/apis/networking.k8s.io" || path == "/apis/networking.k8s.io/v1" ||
        path == "/healthz" || path == "/readyz" || path == "/livez") {
        r.type = Route::Type::Discovery;
        return r;
    }
    auto parts = split_path(path);
    std::size_t i = 0;
    // Namespaces are derived from the objects (kubectl looks one up after a NotFound).
    if (parts.size() == 3 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces") {
        r.type = Route::Type::Namespaces;
        return r;
    }
    if (parts.size() == 4 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces") {
        r.type = Route::Type::Namespace;
        r.name = parts[3];
        return r;
    }
    if (parts.size() >= 3 && parts[0] == "api" && parts[1] == "v1") {
        r.kind = KubeKind::Service;
        i = 2;
    } else if (parts.size() >= 4 && parts[0] == "apis" && parts[1] == "networking.k8s.io" &&
               parts[2] == "v1") {
        r.kind = KubeKind::Ingress;
        i = 3;
    } else {
        return r;
    }
    if (parts.size() - i >= 3 && parts[i] == "namespaces") {
        r.namespace_name = parts[i + 1];
        i += 2;
    }
    if (parts[i] != kube_resource_name(r.kind)) {
        return r;
    }
    ++i;
    if (i == parts.size()) {
        r.type = Route::Type::Collection;
    } else if (i + 1 == parts.size() && r.namespace_name) {
        r.type = Route::Type::Object;
        r.name = parts[i];
    }
    return r;
}

}  // namespace

// ---- The server thread ----

namespace {
class Connection;
}

class FakeKubeApi::Server {
public:
    Server(Loop& loop, State& state, std::shared_ptr<const net::TlsServerContext> tls,
           FakeKubeApiOptions options)
        : loop_(loop), state_(state), tls_(std::move(tls)), options_(std::move(options)) {}
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    Loop& loop() { return loop_; }
    State& state() { return state_; }
    const FakeKubeApiOptions& options() const { return options_; }
    const std::shared_ptr<const net::TlsServerContext>& tls() const { return tls_; }

    // Binds 127.0.0.1:port (0: any). Returns the bound port, 0 on failure.
    std::uint16_t listen(std::uint16_t port);
    // Closes the listener and every connection.
    void shutdown();
    void release(Connection* connection);

    void pump_watches(bool with_bookmark);
    void close_watches(bool clean);

private:
    static void on_connection(uv_stream_t* listener, int status) noexcept;

    Loop& loop_;
    State& state_;
    std::shared_ptr<const net::TlsServerContext> tls_;
    FakeKubeApiOptions options_;
    UvHandle<uv_tcp_t> listener_;
    std::list<std::unique_ptr<Connection>> connections_;
};

namespace {

llhttp_settings_t make_settings();

// One accepted connection: TLS (optional), HTTP/1.1 requests one at a time with keep-alive,
// and at most one watch stream at a time. Owned by Server::connections_, freed through
// loop.defer_delete() after close(), so every entry point checks phase_ first.
class Connection {
public:
    explicit Connection(FakeKubeApi::Server& server)
        : server_(server), stream_(std::make_unique<net::TcpStream>(server.loop())) {
        static const llhttp_settings_t kSettings = make_settings();
        llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
        parser_.data = this;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() = default;

    bool accept(uv_stream_t* listener) { return stream_->accept_from(listener).has_value(); }
    void start();
    void close();

    bool watching() const { return watch_ != nullptr && phase_ == Phase::Streaming; }
    // A watch request left without any answer (set_stall_watches).
    bool stalled() const { return phase_ == Phase::Stalled; }
    // Sends the watch's pending events, then a BOOKMARK if asked and allowed.
    void pump(bool with_bookmark);
    // Ends the watch cleanly (terminating chunk); the connection goes back to reading.
    void end_watch();

    std::list<std::unique_ptr<Connection>>::iterator self;

    // llhttp callbacks.
    static int on_message_begin(llhttp_t* parser) noexcept;
    static int on_url(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_field(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_value(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_value_complete(llhttp_t* parser) noexcept;
    static int on_message_complete(llhttp_t* parser) noexcept;

private:
    enum class Phase { Handshake, Reading, Streaming, Stalled, Closed };
    struct Piece {
        std::string bytes;
        std::uint64_t delay_before_ms = 0;
        bool close_after = false;
    };
    struct Watch {
        WatchSpec spec;
        UvHandle<uv_timer_t> timeout;
        UvHandle<uv_timer_t> bookmark;
    };

    static Connection* of(llhttp_t* parser) { return static_cast<Connection*>(parser->data); }
    static void on_drip(uv_timer_t* timer) noexcept;
    static void on_watch_timeout(uv_timer_t* timer) noexcept;
    static void on_bookmark_tick(uv_timer_t* timer) noexcept;

    void on_plaintext(std::string_view data);
    void parse();
    void dispatch();
    void reply(int status, const json& body,
               std::vector<std::pair<std::string, std::string>> headers = {});
    // set_response_delay_ms(), read under the lock.
    std::uint64_t response_delay_ms() const;
    void start_watch(WatchSpec spec, std::vector<std::string> initial_events);
    void send_events(const std::vector<std::string>& events, const WatchFraming& framing);
    void emit(std::string bytes, std::uint64_t delay_before_ms = 0, bool close_after = false);
    void flush_out();
    void write_now(const std::string& bytes);

    FakeKubeApi::Server& server_;
    std::unique_ptr<net::TcpStream> stream_;
    std::unique_ptr<net::TlsChannel> tls_;  // after stream_: destroyed first
    UvHandle<uv_timer_t> drip_timer_;
    std::unique_ptr<Watch> watch_;
    llhttp_t parser_{};
    Phase phase_ = Phase::Handshake;
    std::string pending_;
    // The request being parsed.
    std::string method_;
    std::string target_;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::string field_;
    std::string value_;
    bool keep_alive_ = true;
    // Output waiting behind a delayed piece.
    std::deque<Piece> out_;
    bool drip_waiting_ = false;
};

llhttp_settings_t make_settings() {
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_message_begin = &Connection::on_message_begin;
    settings.on_url = &Connection::on_url;
    settings.on_header_field = &Connection::on_header_field;
    settings.on_header_value = &Connection::on_header_value;
    settings.on_header_value_complete = &Connection::on_header_value_complete;
    settings.on_message_complete = &Connection::on_message_complete;
    return settings;
}

int Connection::on_message_begin(llhttp_t* parser) noexcept {
    auto* self = of(parser);
    self->method_.clear();
    self->target_.clear();
    self->headers_.clear();
    self->field_.clear();
    self->value_.clear();
    return 0;
}

int Connection::on_url(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    of(parser)->target_.append(at, length);
    return 0;
}

int Connection::on_header_field(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    of(parser)->field_.append(at, length);
    return 0;
}

int Connection::on_header_value(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    of(parser)->value_.append(at, length);
    return 0;
}

int Connection::on_header_value_complete(llhttp_t* parser) noexcept {
    auto* self = of(parser);
    self->headers_.emplace_back(std::exchange(self->field_, {}), std::exchange(self->value_, {}));
    return 0;
}

int Connection::on_message_complete(llhttp_t* parser) noexcept {
    auto* self = of(parser);
    self->method_ = llhttp_method_name(static_cast<llhttp_method_t>(parser->method));
    self->keep_alive_ = llhttp_should_keep_alive(parser) != 0;
    // One request at a time: what follows waits until this one is answered.
    return HPE_PAUSED;
}

void Connection::start() {
    if (drip_timer_.init(
            this, [this](uv_timer_t* t) { return uv_timer_init(server_.loop().raw(), t); }) != 0) {
        close();
        return;
    }
    if (!server_.tls()) {
        phase_ = Phase::Reading;
        stream_->start_reading([this](std::string_view data) { on_plaintext(data); },
                               [this](int) { close(); });
        return;
    }
    auto session = net::TlsSession::server(server_.tls());
    if (!session) {
        close();
        return;
    }
    tls_ = std::make_unique<net::TlsChannel>(*stream_, std::move(*session));
    tls_->start(
        [this](bool ok, std::uint64_t) {
            if (!ok) {
                close();
                return;
            }
            if (phase_ == Phase::Handshake) {
                phase_ = Phase::Reading;
                parse();
            }
        },
        [this](std::string_view data) { on_plaintext(data); },
        [this](const std::string&) { close(); });
}

void Connection::close() {
    if (phase_ == Phase::Closed) {
        return;
    }
    const bool was_watching = watch_ != nullptr;
    const KubeKind kind = was_watching ? watch_->spec.kind : KubeKind::Service;
    phase_ = Phase::Closed;
    watch_.reset();
    drip_timer_.reset();
    if (tls_) {
        tls_->stop();
    }
    stream_->close();
    if (was_watching) {
        auto& state = server_.state();
        const std::lock_guard lock(state.mu);
        --state.open_watches[index_of(kind)];
        state.notify_locked();
    }
    server_.release(this);  // deferred: `this` stays valid until a later iteration
}

void Connection::on_plaintext(std::string_view data) {
    if (phase_ == Phase::Closed) {
        return;
    }
    pending_.append(data);
    if (pending_.size() > kMaxBufferedInput) {
        close();
        return;
    }
    if (phase_ == Phase::Reading) {
        parse();
    }
}

void Connection::parse() {
    while (phase_ == Phase::Reading && !pending_.empty()) {
        const char* data = pending_.data();
        const llhttp_errno_t err = llhttp_execute(&parser_, data, pending_.size());
        if (err == HPE_OK) {
            pending_.clear();
            return;
        }
        if (err == HPE_PAUSED) {
            const auto used = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
            pending_.erase(0, used);
            llhttp_resume(&parser_);
            dispatch();
            continue;
        }
        keep_alive_ = false;
        reply(400, status_object(400, std::string("malformed request: ") + llhttp_errno_name(err)));
        return;
    }
}

void Connection::write_now(const std::string& bytes) {
    if (tls_) {
        tls_->write(bytes);
    } else {
        stream_->write(bytes);
    }
}

void Connection::emit(std::string bytes, std::uint64_t delay_before_ms, bool close_after) {
    out_.push_back(Piece{std::move(bytes), delay_before_ms, close_after});
    flush_out();
}

void Connection::flush_out() {
    while (phase_ != Phase::Closed && !drip_waiting_ && !out_.empty()) {
        Piece& piece = out_.front();
        if (piece.delay_before_ms > 0) {
            drip_waiting_ = true;
            uv_timer_start(drip_timer_.get(), &Connection::on_drip, piece.delay_before_ms, 0);
            piece.delay_before_ms = 0;
            return;
        }
        if (!piece.bytes.empty()) {
            write_now(piece.bytes);
        }
        const bool close_after = piece.close_after;
        out_.pop_front();
        if (close_after) {
            // Closing now would discard writes still queued in the stream.
            stream_->when_flushed([this](int) { close(); });
            out_.clear();
            return;
        }
    }
}

void Connection::on_drip(uv_timer_t* timer) noexcept {
    auto* self = owner_of<Connection>(timer);
    if (self == nullptr) {
        return;
    }
    self->drip_waiting_ = false;
    self->flush_out();
}

std::uint64_t Connection::response_delay_ms() const {
    const std::lock_guard lock(server_.state().mu);
    return server_.state().response_delay_ms;
}

void Connection::reply(int status, const json& body,
                       std::vector<std::pair<std::string, std::string>> headers) {
    const std::string text = body.dump();
    const bool close_after = !keep_alive_;
    emit(response_head(status, headers, text.size(), close_after) + text, response_delay_ms(),
         close_after);
}

void Connection::send_events(const std::vector<std::string>& events, const WatchFraming& framing) {
    if (events.empty()) {
        return;
    }
    if (framing.coalesce) {
        std::string all;
        for (const auto& e : events) {
            all += e;
        }
        emit(chunk(all));
        return;
    }
    const auto pieces = static_cast<std::size_t>(std::max(1, framing.pieces_per_event));
    for (const auto& e : events) {
        const std::size_t n = std::min(pieces, e.size());
        const std::size_t size = (e.size() + n - 1) / n;
        for (std::size_t offset = 0, i = 0; offset < e.size(); offset += size, ++i) {
            emit(chunk(std::string_view(e).substr(offset, size)),
                 i == 0 ? 0 : framing.piece_delay_ms);
        }
    }
}

std::string event_line(const char* type, const json& object) {
    return json{{"type", type}, {"object", object}}.dump() + "\n";
}

json bookmark_object(KubeKind kind, std::uint64_t rv) {
    json object{
        {"kind", kind_name(kind)},
        {"apiVersion", api_version(kind)},
        {"metadata", {{"resourceVersion", std::to_string(rv)}, {"creationTimestamp", nullptr}}},
        {"spec", json::object()},
        {"status", {{"loadBalancer", json::object()}}}};
    return object;
}

void Connection::pump(bool with_bookmark) {
    if (!watching()) {
        return;
    }
    auto& state = server_.state();
    std::vector<std::string> events;
    WatchFraming framing;
    {
        const std::lock_guard lock(state.mu);
        auto& spec = watch_->spec;
        for (; spec.cursor < state.history.size(); ++spec.cursor) {
            const HistoryEntry& entry = state.history[spec.cursor];
            if (entry.kind != spec.kind) {
                continue;
            }
            const bool now = matches(entry.object, spec.filter);
            if (entry.type == EventType::Modified) {
                const bool before = matches(entry.previous, spec.filter);
                if (now && before) {
                    events.push_back(event_line("MODIFIED", with_kind(spec.kind, entry.object)));
                } else if (now) {
                    events.push_back(event_line("ADDED", with_kind(spec.kind, entry.object)));
                } else if (before) {
                    // The object left the selection: DELETED with its previous state, at the
                    // new resourceVersion so that the client's position still advances.
                    json gone = entry.previous;
                    gone["metadata"]["resourceVersion"] = std::to_string(entry.rv);
                    events.push_back(event_line("DELETED", with_kind(spec.kind, gone)));
                }
            } else if (now) {
                events.push_back(
                    event_line(event_type_name(entry.type), with_kind(spec.kind, entry.object)));
            }
        }
        if (with_bookmark && watch_->spec.bookmarks) {
            events.push_back(event_line("BOOKMARK", bookmark_object(spec.kind, state.rv)));
        }
        framing = state.framing;
    }
    send_events(events, framing);
}

void Connection::end_watch() {
    if (!watching()) {
        return;
    }
    pump(false);
    const KubeKind kind = watch_->spec.kind;
    // May run inside a timer of the watch: the UvHandle closes it and frees it later.
    watch_.reset();
    phase_ = Phase::Reading;
    {
        auto& state = server_.state();
        const std::lock_guard lock(state.mu);
        --state.open_watches[index_of(kind)];
        state.notify_locked();
    }
    emit(std::string(kLastChunk), 0, !keep_alive_);
    parse();
}

void Connection::on_watch_timeout(uv_timer_t* timer) noexcept {
    auto* self = owner_of<Connection>(timer);
    if (self != nullptr) {
        self->end_watch();
    }
}

void Connection::on_bookmark_tick(uv_timer_t* timer) noexcept {
    auto* self = owner_of<Connection>(timer);
    if (self != nullptr) {
        self->pump(true);
    }
}

void Connection::start_watch(WatchSpec spec, std::vector<std::string> initial_events) {
    auto watch = std::make_unique<Watch>();
    watch->spec = std::move(spec);
    auto& loop = server_.loop();
    const auto init = [&loop](uv_timer_t* t) { return uv_timer_init(loop.raw(), t); };
    if (watch->timeout.init(this, init) != 0 || watch->bookmark.init(this, init) != 0) {
        close();
        return;
    }
    uv_timer_start(watch->timeout.get(), &Connection::on_watch_timeout, watch->spec.timeout_ms, 0);
    if (watch->spec.bookmarks && watch->spec.bookmark_interval_ms > 0) {
        uv_timer_start(watch->bookmark.get(), &Connection::on_bookmark_tick,
                       watch->spec.bookmark_interval_ms, watch->spec.bookmark_interval_ms);
    }
    WatchFraming framing;
    {
        auto& state = server_.state();
        const std::lock_guard lock(state.mu);
        ++state.open_watches[index_of(watch->spec.kind)];
        framing = state.framing;
        state.notify_locked();
    }
    watch_ = std::move(watch);
    phase_ = Phase::Streaming;
    emit(response_head(200, {}, std::nullopt, false));
    send_events(initial_events, framing);
    // Events that happened after the initial snapshot was taken.
    pump(false);
}

// Builds a list page. Called with state.mu held.
std::pair<int, json> list_locked(FakeKubeApi::State& state, KubeKind kind, const Filter& filter,
                                 const net::QueryParams& params) {
    std::uint64_t snapshot_rv = state.rv;
    std::optional<Key> after;
    std::size_t limit = 0;
    if (const auto* text = params.get("limit"); text != nullptr && !text->empty()) {
        auto parsed = parse_u64(*text);
        if (!parsed) {
            return {400, status_object(400, "invalid limit: " + *text)};
        }
        limit = static_cast<std::size_t>(*parsed);
    }
    if (state.max_page_size > 0 && (limit == 0 || limit > state.max_page_size)) {
        limit = state.max_page_size;
    }
    const auto* cont = params.get("continue");
    const auto* rv_param = params.get("resourceVersion");
    if (cont != nullptr && !cont->empty()) {
        if (rv_param != nullptr && !rv_param->empty() && *rv_param != "0") {
            return {400, status_object(400,
                                       "specifying resource version is not allowed when "
                                       "using continue")};
        }
        const auto decoded = hex_decode(*cont);
        json token;
        if (decoded) {
            token = json::parse(*decoded, nullptr, false);
        }
        if (!token.is_object() || !token.contains("rv") || !token["rv"].is_number_unsigned() ||
            !token.contains("ns") || !token.contains("name")) {
            return {400, status_object(400, "continue key is not valid: " + *cont)};
        }
        snapshot_rv = token["rv"].get<std::uint64_t>();
        if (snapshot_rv < state.compacted) {
            return {410,
                    status_object(410,
                                  "The provided continue parameter is too old to display a "
                                  "consistent list result. You can start a new list without the "
                                  "continue parameter.",
                                  "Expired")};
        }
        after = Key{token["ns"].get<std::string>(), token["name"].get<std::string>()};
    } else if (rv_param != nullptr && !rv_param->empty() && *rv_param != "0") {
        auto parsed = parse_u64(*rv_param);
        if (!parsed) {
            return {400, status_object(400, "invalid resource version: " + *rv_param)};
        }
        const auto* match = params.get("resourceVersionMatch");
        const bool exact = (match != nullptr && *match == "Exact") ||
                           (limit > 0 && (match == nullptr || match->empty()));
        if (exact) {
            if (*parsed < state.compacted) {
                return {410, status_object(410,
                                           "too old resource version: " + *rv_param + " (" +
                                               std::to_string(state.compacted) + ")",
                                           "Expired")};
            }
            snapshot_rv = std::min(*parsed, state.rv);
        }
    }
    // The live store when the snapshot is the present (no copy), else a rebuilt one.
    std::optional<Store> rebuilt;
    if (snapshot_rv < state.rv) {
        rebuilt = state.snapshot_locked(kind, snapshot_rv);
    }
    const Store& snapshot = rebuilt ? *rebuilt : state.stores[index_of(kind)];
    json items = json::array();
    auto it = after ? snapshot.upper_bound(*after) : snapshot.begin();
    std::optional<Key> last;
    for (; it != snapshot.end(); ++it) {
        if (!matches(it->second, filter)) {
            continue;
        }
        if (limit > 0 && items.size() == limit) {
            break;
        }
        items.push_back(it->second);
        last = it->first;
    }
    std::size_t remaining = 0;
    for (; it != snapshot.end(); ++it) {
        if (matches(it->second, filter)) {
            ++remaining;
        }
    }
    json metadata{{"resourceVersion", std::to_string(snapshot_rv)}};
    if (remaining > 0 && last) {
        const json token{{"rv", snapshot_rv}, {"ns", last->first}, {"name", last->second}};
        metadata["continue"] = hex_encode(token.dump());
        if (filter.labels.empty() && filter.fields.empty()) {
            metadata["remainingItemCount"] = remaining;
        }
    }
    return {200, json{{"kind", kind_name(kind) + "List"},
                      {"apiVersion", api_version(kind)},
                      {"metadata", std::move(metadata)},
                      {"items", std::move(items)}}};
}

json discovery_document(const std::string& path, const FakeKubeApiOptions& options,
                        std::uint16_t port) {
    const json networking_version{{"groupVersion", "networking.k8s.io/v1"}, {"version", "v1"}};
    const json networking_group{{"name", "networking.k8s.io"},
                                {"versions", json::array({networking_version})},
                                {"preferredVersion", networking_version}};
    if (path == "/version") {
        return json{{"major", "1"},
                    {"minor", options.version_minor},
                    {"gitVersion", "v1." + options.version_minor + ".0-fake"},
                    {"gitCommit", "0000000000000000000000000000000000000000"},
                    {"gitTreeState", "clean"},
                    {"buildDate", "2024-01-01T00:00:00Z"},
                    {"goVersion", "go1.21.5"},
                    {"compiler", "gc"},
                    {"platform", "linux/amd64"}};
    }
    if (path == "/api") {
        return json{{"kind", "APIVersions"},
                    {"versions", json::array({"v1"})},
                    {"serverAddressByClientCIDRs",
                     json::array({{{"clientCIDR", "0.0.0.0/0"},
                                   {"serverAddress", "127.0.0.1:" + std::to_string(port)}}})}};
    }
    if (path == "/apis") {
        return json{{"kind", "APIGroupList"},
                    {"apiVersion", "v1"},
                    {"groups", json::array({networking_group})}};
    }
    if (path == "/apis/networking.k8s.io") {
        json group = networking_group;
        group["kind"] = "APIGroup";
        group["apiVersion"] = "v1";
        return group;
    }
    const json verbs = json::array({"get", "list", "watch"});
    if (path == "/api/v1") {
        return json{{"kind", "APIResourceList"},
                    {"groupVersion", "v1"},
                    {"resources", json::array({{{"name", "services"},
                                                {"singularName", "service"},
                                                {"namespaced", true},
                                                {"kind", "Service"},
                                                {"verbs", verbs},
                                                {"shortNames", json::array({"svc"})},
                                                {"categories", json::array({"all"})}},
                                               {{"name", "namespaces"},
                                                {"singularName", "namespace"},
                                                {"namespaced", false},
                                                {"kind", "Namespace"},
                                                {"verbs", json::array({"get", "list"})},
                                                {"shortNames", json::array({"ns"})}}})}};
    }
    if (path == "/apis/networking.k8s.io/v1") {
        return json{{"kind", "APIResourceList"},
                    {"apiVersion", "v1"},
                    {"groupVersion", "networking.k8s.io/v1"},
                    {"resources", json::array({{{"name", "ingresses"},
                                                {"singularName", "ingress"},
                                                {"namespaced", true},
                                                {"kind", "Ingress"},
                                                {"verbs", verbs},
                                                {"shortNames", json::array({"ing"})}}})}};
    }
    return nullptr;  // healthz & co answer "ok" as text
}

// The namespaces that exist: the usual three and every one holding an object.
std::set<std::string> namespaces_locked(const FakeKubeApi::State& state) {
    std::set<std::string> names = {"default", "kube-public", "kube-system"};
    for (const auto& store : state.stores) {
        for (const auto& entry : store) {
            names.insert(entry.first.first);
        }
    }
    return names;
}

json namespace_object(const std::string& name) {
    std::array<char, 40> uid{};
    std::snprintf(
        uid.data(), uid.size(), "00000000-0000-4000-9000-%012llx",
        static_cast<unsigned long long>(std::hash<std::string>{}(name)&0xffffffffffffULL));
    return json{{"metadata",
                 {{"name", name},
                  {"uid", std::string(uid.data())},
                  {"resourceVersion", "1"},
                  {"creationTimestamp", "2024-01-01T00:00:00Z"},
                  {"labels", {{"kubernetes.io/metadata.name", name}}}}},
                {"spec", {{"finalizers", json::array({"kubernetes"})}}},
                {"status", {{"phase", "Active"}}}};
}

bool is_public_path(const std::string& path) {
    return path == "/version" || path == "/healthz" || path == "/readyz" || path == "/livez";
}

void Connection::dispatch() {
    auto& state = server_.state();
    const auto split = net::split_target(target_);
    RecordedRequest record;
    record.method = method_;
    record.headers = headers_;
    if (split) {
        record.path = split->path;
        record.query = split->query;
    }
    std::size_t log_index = 0;
    std::string token;
    bool has_credentials = false;
    for (const auto& [name, value] : headers_) {
        if (net::iequals(name, "Authorization")) {
            has_credentials = true;
            if (value.size() > 7 && net::iequals(std::string_view(value).substr(0, 7), "Bearer ")) {
                token = trim(std::string_view(value).substr(7));
            }
            break;
        }
    }
    bool authorized = false;
    std::optional<Failure> fail;
    const Route r = split ? route(split->path) : Route{};
    {
        const std::lock_guard lock(state.mu);
        log_index = state.log.size();
        state.log.push_back(record);
        authorized = (!has_credentials && is_public_path(record.path)) ||
                     (!token.empty() && std::find(state.tokens.begin(), state.tokens.end(),
                                                  token) != state.tokens.end());
        if (!authorized) {
            ++state.unauthorized;
        }
        state.notify_locked();
    }
    const auto finish_log = [&state, log_index](int status) {
        const std::lock_guard lock(state.mu);
        state.log[log_index].status = status;
        state.notify_locked();
    };
    const auto answer = [&](int status, const json& body,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
        finish_log(status);
        reply(status, body, std::move(headers));
    };

    if (!split) {
        answer(400, status_object(400, split.error()));
        return;
    }
    if (!authorized) {
        answer(401, status_object(401, "Unauthorized"));
        return;
    }
    if (method_ != "GET") {
        answer(405, status_object(405,
                                  "the server does not allow this method on the requested "
                                  "resource (fake: GET only)"));
        return;
    }
    if (r.type == Route::Type::Discovery) {
        json doc = discovery_document(split->path, server_.options(), [&] {
            const std::lock_guard lock(state.mu);
            return state.port;
        }());
        if (doc.is_null()) {
            finish_log(200);
            const bool close_after = !keep_alive_;
            emit(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
                "2\r\n" +
                    std::string(close_after ? "Connection: close\r\n" : "") + "\r\nok",
                0, close_after);
            return;
        }
        answer(200, doc);
        return;
    }
    if (r.type == Route::Type::NotFound) {
        answer(404, status_object(404, "the server could not find the requested resource"));
        return;
    }
    if (r.type == Route::Type::Namespaces || r.type == Route::Type::Namespace) {
        std::set<std::string> names;
        std::uint64_t rv = 0;
        {
            const std::lock_guard lock(state.mu);
            names = namespaces_locked(state);
            rv = state.rv;
        }
        if (r.type == Route::Type::Namespace) {
            if (names.count(r.name) == 0) {
                json body = status_object(404, "namespaces \"" + r.name + "\" not found");
                body["details"] = {{"name", r.name}, {"kind", "namespaces"}};
                answer(404, body);
                return;
            }
            json object = namespace_object(r.name);
            object["kind"] = "Namespace";
            object["apiVersion"] = "v1";
            answer(200, object);
            return;
        }
        json items = json::array();
        for (const auto& name : names) {
            items.push_back(namespace_object(name));
        }
        answer(200, json{{"kind", "NamespaceList"},
                         {"apiVersion", "v1"},
                         {"metadata", {{"resourceVersion", std::to_string(rv)}}},
                         {"items", std::move(items)}});
        return;
    }
    auto params = split->query.empty() ? Result<net::QueryParams>(net::QueryParams{})
                                       : net::parse_query(split->query);
    if (!params) {
        answer(400, status_object(400, params.error()));
        return;
    }
    // Booleans as Go's strconv.ParseBool reads them.
    const auto flag = [&params](const char* key) {
        const std::string* v = params->get(key);
        return v != nullptr && (*v == "1" || *v == "t" || *v == "T" || *v == "true" ||
                                *v == "TRUE" || *v == "True");
    };
    const bool is_watch = r.type == Route::Type::Collection && flag("watch");
    {
        const std::lock_guard lock(state.mu);
        auto& counts = state.counts[index_of(r.kind)];
        if (is_watch) {
            ++counts.watch;
        } else if (r.type == Route::Type::Collection) {
            ++counts.list;
        } else {
            ++counts.get;
        }
        const KubeVerb verb = is_watch                            ? KubeVerb::Watch
                              : r.type == Route::Type::Collection ? KubeVerb::List
                                                                  : KubeVerb::Get;
        const bool hit = (state.failure.verb == KubeVerb::Any || state.failure.verb == verb) &&
                         (!state.failure.kind || *state.failure.kind == r.kind);
        if (state.failure.remaining > 0 && hit) {
            --state.failure.remaining;
            fail = state.failure;
        }
    }
    if (fail && fail->bad_json) {
        // Cut off in the middle of an object, and ended by a newline so that a watch client
        // sees a whole line that does not parse.
        const std::string text = "{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\n";
        finish_log(200);
        const bool close_after = !keep_alive_;
        emit(response_head(200, {}, text.size(), close_after) + text, response_delay_ms(),
             close_after);
        return;
    }
    if (fail) {
        json body = status_object(fail->status, "fake: scripted failure");
        std::vector<std::pair<std::string, std::string>> headers;
        if (fail->retry_after_s > 0) {
            headers.emplace_back("Retry-After", std::to_string(fail->retry_after_s));
            body["details"] = {{"retryAfterSeconds", fail->retry_after_s}};
        }
        answer(fail->status, body, std::move(headers));
        return;
    }

    if (r.type == Route::Type::Object) {
        std::optional<json> object;
        {
            const std::lock_guard lock(state.mu);
            const auto& store = state.stores[index_of(r.kind)];
            if (auto it = store.find(Key{*r.namespace_name, r.name}); it != store.end()) {
                object = with_kind(r.kind, it->second);
            }
        }
        if (!object) {
            json body =
                status_object(404, kube_resource_name(r.kind) + " \"" + r.name + "\" not found");
            body["details"] = {{"name", r.name}, {"kind", kube_resource_name(r.kind)}};
            answer(404, body);
            return;
        }
        answer(200, *object);
        return;
    }

    Filter filter;
    filter.namespace_name = r.namespace_name;
    if (const auto* text = params->get("labelSelector"); text != nullptr) {
        auto labels = parse_label_selector(*text);
        if (!labels) {
            answer(400, status_object(400, labels.error()));
            return;
        }
        filter.labels = std::move(*labels);
    }
    if (const auto* text = params->get("fieldSelector"); text != nullptr) {
        auto fields = parse_field_selector(*text);
        if (!fields) {
            answer(400, status_object(400, fields.error()));
            return;
        }
        filter.fields = std::move(*fields);
    }

    if (!is_watch) {
        std::pair<int, json> result;
        {
            const std::lock_guard lock(state.mu);
            result = list_locked(state, r.kind, filter, *params);
        }
        answer(result.first, result.second);
        return;
    }

    bool stall = false;
    {
        const std::lock_guard lock(state.mu);
        stall = state.stall_watches;
    }
    if (stall) {
        // Read, counted and logged, never answered: a hung server or a half-open connection.
        finish_log(0);
        phase_ = Phase::Stalled;
        return;
    }
    if (params->has("sendInitialEvents")) {
        answer(422, status_object(422,
                                  "sendInitialEvents is forbidden for watch unless the "
                                  "WatchList feature gate is enabled",
                                  "Invalid"));
        return;
    }
    if (params->has("resourceVersionMatch")) {
        answer(422, status_object(422,
                                  "resourceVersionMatch is forbidden for watch unless "
                                  "sendInitialEvents is provided",
                                  "Invalid"));
        return;
    }
    WatchSpec spec;
    spec.kind = r.kind;
    spec.filter = std::move(filter);
    spec.bookmarks = flag("allowWatchBookmarks");
    spec.timeout_ms = server_.options().default_watch_timeout_s * 1000;
    if (const auto* text = params->get("timeoutSeconds"); text != nullptr && !text->empty()) {
        auto parsed = parse_u64(*text);
        if (!parsed) {
            answer(400, status_object(400, "invalid timeoutSeconds: " + *text));
            return;
        }
        if (*parsed > 0) {
            spec.timeout_ms = *parsed * 1000;
        }
    }
    const std::string* rv_text = params->get("resourceVersion");
    std::vector<std::string> initial;
    std::optional<std::string> expired;
    bool expired_as_http = false;
    {
        const std::lock_guard lock(state.mu);
        spec.bookmark_interval_ms = state.bookmark_interval_ms;
        expired_as_http = state.expired_as_http_410;
        if (rv_text == nullptr || rv_text->empty() || *rv_text == "0") {
            for (const auto& [key, object] : state.stores[index_of(r.kind)]) {
                if (matches(object, spec.filter)) {
                    initial.push_back(event_line("ADDED", with_kind(r.kind, object)));
                }
            }
            spec.cursor = state.history.size();
        } else {
            auto parsed = parse_u64(*rv_text);
            if (!parsed) {
                // Answered below, outside the lock.
                expired = std::string();
            } else if (*parsed < state.compacted) {
                expired = "too old resource version: " + *rv_text + " (" +
                          std::to_string(state.compacted) + ")";
            } else {
                const auto it = std::upper_bound(
                    state.history.begin(), state.history.end(), *parsed,
                    [](std::uint64_t v, const HistoryEntry& e) { return v < e.rv; });
                spec.cursor = static_cast<std::size_t>(it - state.history.begin());
            }
        }
    }
    if (expired && expired->empty()) {
        answer(400, status_object(400, "invalid resource version: " + *rv_text));
        return;
    }
    if (expired) {
        const json status = status_object(410, *expired, "Expired");
        if (expired_as_http) {
            answer(410, status);
            return;
        }
        // The real server: headers, one ERROR event, end of stream.
        finish_log(200);
        emit(response_head(200, {}, std::nullopt, false) + chunk(event_line("ERROR", status)) +
                 std::string(kLastChunk),
             0, !keep_alive_);
        return;
    }
    finish_log(200);
    start_watch(std::move(spec), std::move(initial));
}

}  // namespace

FakeKubeApi::Server::~Server() {
    shutdown();
}

std::uint16_t FakeKubeApi::Server::listen(std::uint16_t port) {
    if (listener_) {
        return 0;
    }
    UvHandle<uv_tcp_t> listener;
    if (listener.init(this, [this](uv_tcp_t* t) { return uv_tcp_init(loop_.raw(), t); }) != 0) {
        return 0;
    }
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", port, &addr);
    if (uv_tcp_bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), 0) != 0 ||
        uv_listen(listener.as_stream(), 128, &Server::on_connection) != 0) {
        return 0;
    }
    sockaddr_in bound{};
    int len = sizeof bound;
    if (uv_tcp_getsockname(listener.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
        return 0;
    }
    listener_ = std::move(listener);
    return ntohs(bound.sin_port);
}

void FakeKubeApi::Server::on_connection(uv_stream_t* listener, int status) noexcept {
    auto* self = owner_of<Server>(listener);
    if (self == nullptr || status != 0) {
        return;
    }
    auto connection = std::make_unique<Connection>(*self);
    if (!connection->accept(listener)) {
        return;
    }
    {
        const std::lock_guard lock(self->state_.mu);
        ++self->state_.accepted;
        self->state_.notify_locked();
    }
    auto* raw = connection.get();
    self->connections_.push_back(std::move(connection));
    raw->self = std::prev(self->connections_.end());
    raw->start();
}

void FakeKubeApi::Server::release(Connection* connection) {
    auto owned = std::move(*connection->self);
    connections_.erase(connection->self);
    loop_.defer_delete(std::move(owned));
}

void FakeKubeApi::Server::shutdown() {
    listener_.reset();
    while (!connections_.empty()) {
        connections_.front()->close();
    }
}

void FakeKubeApi::Server::pump_watches(bool with_bookmark) {
    // A pump may close a connection (a failed write), which erases it from the list.
    std::vector<Connection*> watching;
    for (const auto& c : connections_) {
        if (c->watching()) {
            watching.push_back(c.get());
        }
    }
    for (auto* c : watching) {
        c->pump(with_bookmark);
    }
}

void FakeKubeApi::Server::close_watches(bool clean) {
    std::vector<Connection*> watching;
    for (const auto& c : connections_) {
        if (c->watching() || c->stalled()) {
            watching.push_back(c.get());
        }
    }
    for (auto* c : watching) {
        if (clean && c->watching()) {
            c->end_watch();
        } else {
            c->close();
        }
    }
}

// ---- FakeKubeApi (the test's thread) ----

namespace {

void on_async(uv_async_t* handle) noexcept {
    auto* server = owner_of<FakeKubeApi::Server>(handle);
    if (server == nullptr) {
        return;
    }
    auto& state = server->state();
    std::vector<std::function<void(FakeKubeApi::Server&)>> commands;
    {
        const std::lock_guard lock(state.mu);
        commands.swap(state.commands);
    }
    for (auto& command : commands) {
        command(*server);
    }
    // Every wake-up may carry new history: deliver it.
    server->pump_watches(false);
}

}  // namespace

FakeKubeApi::FakeKubeApi(FakeKubeApiOptions options)
    : options_(std::move(options)), state_(std::make_shared<State>()) {
    state_->tokens = {options_.token};
    std::shared_ptr<const net::TlsServerContext> tls;
    if (options_.tls) {
        const TestCert ca = make_ca("fake-kube-api CA");
        CertSpec spec = localhost_spec();
        spec.subject = {{"CN", "kube-apiserver"}};
        spec.dns_names = {"localhost", "kubernetes", "kubernetes.default",
                          "kubernetes.default.svc"};
        const TestCert leaf = make_signed(spec, ca);
        auto context = net::make_tls_server_context(leaf.cert_pem, leaf.key_pem);
        if (!context) {
            throw std::runtime_error("fake kube api: TLS context: " + context.error());
        }
        tls = *context;
        ca_pem_ = ca.cert_pem;
    }
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready, tls] {
        Loop loop;
        {
            Server server(loop, *state_, tls, options_);
            UvHandle<uv_async_t> async;
            (void)async.init(&server, [&loop](uv_async_t* a) {
                return uv_async_init(loop.raw(), a, &on_async);
            });
            const std::uint16_t port = server.listen(0);
            {
                const std::lock_guard lock(state_->mu);
                state_->async = async.get();
                state_->port = port;
                state_->running = port != 0;
            }
            ready.set_value();
            loop.run();
            std::vector<std::function<void(Server&)>> leftovers;
            {
                const std::lock_guard lock(state_->mu);
                state_->async = nullptr;
                state_->running = false;
                leftovers.swap(state_->commands);
            }
            for (auto& command : leftovers) {
                command(server);
            }
            server.shutdown();
        }
        (void)loop.close();
    });
    started.wait();
}

FakeKubeApi::~FakeKubeApi() {
    {
        const std::lock_guard lock(state_->mu);
        state_->commands.emplace_back([](Server& server) { server.loop().stop(); });
        state_->wake_locked();
    }
    thread_.join();
}

void FakeKubeApi::run_on_server(std::function<void(Server&)> fn) const {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    {
        const std::lock_guard lock(state_->mu);
        if (state_->async == nullptr) {
            return;
        }
        state_->commands.emplace_back([fn = std::move(fn), done](Server& server) {
            fn(server);
            done->set_value();
        });
        state_->wake_locked();
    }
    finished.wait();
}

std::uint16_t FakeKubeApi::port() const {
    const std::lock_guard lock(state_->mu);
    return state_->port;
}

std::string FakeKubeApi::url() const {
    return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::string FakeKubeApi::kubeconfig(const std::string& namespace_name) const {
    std::string cluster = "    server: " + url() + "\n";
    if (options_.tls) {
        cluster += "    certificate-authority-data: " + base64(ca_pem_) + "\n";
    }
    return "apiVersion: v1\n"
           "kind: Config\n"
           "clusters:\n"
           "- name: fake\n"
           "  cluster:\n" +
           cluster +
           "users:\n"
           "- name: fake-user\n"
           "  user:\n"
           "    token: " +
           token() +
           "\n"
           "contexts:\n"
           "- name: fake\n"
           "  context:\n"
           "    cluster: fake\n"
           "    user: fake-user\n"
           "    namespace: " +
           namespace_name +
           "\n"
           "current-context: fake\n";
}

std::string FakeKubeApi::token() const {
    const std::lock_guard lock(state_->mu);
    return state_->tokens.empty() ? std::string() : state_->tokens.front();
}

void FakeKubeApi::set_token(std::string token) {
    set_tokens({std::move(token)});
}

void FakeKubeApi::set_tokens(std::vector<std::string> tokens) {
    const std::lock_guard lock(state_->mu);
    state_->tokens = std::move(tokens);
}

nlohmann::json FakeKubeApi::put_service(nlohmann::json object) {
    return put_object(KubeKind::Service, std::move(object));
}

nlohmann::json FakeKubeApi::put_ingress(nlohmann::json object) {
    return put_object(KubeKind::Ingress, std::move(object));
}

nlohmann::json FakeKubeApi::put_object(KubeKind kind, nlohmann::json object) {
    if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object() ||
        !object["metadata"].contains("name") || !object["metadata"]["name"].is_string() ||
        object["metadata"]["name"].get<std::string>().empty()) {
        throw std::invalid_argument("fake kube api: an object needs metadata.name: " +
                                    object.dump());
    }
    object.erase("kind");
    object.erase("apiVersion");
    auto& meta = object["metadata"];
    if (!meta.contains("namespace") || !meta["namespace"].is_string() ||
        meta["namespace"].get<std::string>().empty()) {
        meta["namespace"] = "default";
    }
    if (!object.contains("status")) {
        object["status"] = {{"loadBalancer", json::object()}};
    }
    const Key key{meta["namespace"].get<std::string>(), meta["name"].get<std::string>()};
    const std::lock_guard lock(state_->mu);
    auto& store = state_->stores[index_of(kind)];
    const auto existing = store.find(key);
    HistoryEntry entry;
    entry.kind = kind;
    if (existing != store.end()) {
        entry.type = EventType::Modified;
        entry.previous = existing->second;
        meta["uid"] = existing->second["metadata"]["uid"];
        meta["creationTimestamp"] = existing->second["metadata"]["creationTimestamp"];
    } else {
        entry.type = EventType::Added;
        std::array<char, 40> uid{};
        std::snprintf(uid.data(), uid.size(), "00000000-0000-4000-8000-%012llx",
                      static_cast<unsigned long long>(state_->next_uid++));
        meta["uid"] = std::string(uid.data());
        meta["creationTimestamp"] = now_rfc3339();
    }
    entry.rv = ++state_->rv;
    meta["resourceVersion"] = std::to_string(entry.rv);
    entry.object = object;
    store[key] = object;
    state_->history.push_back(std::move(entry));
    state_->wake_locked();
    state_->notify_locked();
    return with_kind(kind, std::move(object));
}

bool FakeKubeApi::delete_object(KubeKind kind, const std::string& namespace_name,
                                const std::string& name) {
    const std::lock_guard lock(state_->mu);
    auto& store = state_->stores[index_of(kind)];
    const auto it = store.find(Key{namespace_name, name});
    if (it == store.end()) {
        return false;
    }
    HistoryEntry entry;
    entry.kind = kind;
    entry.type = EventType::Deleted;
    entry.rv = ++state_->rv;
    entry.object = std::move(it->second);
    entry.object["metadata"]["resourceVersion"] = std::to_string(entry.rv);
    store.erase(it);
    state_->history.push_back(std::move(entry));
    state_->wake_locked();
    state_->notify_locked();
    return true;
}

std::optional<nlohmann::json> FakeKubeApi::get_object(KubeKind kind,
                                                      const std::string& namespace_name,
                                                      const std::string& name) const {
    const std::lock_guard lock(state_->mu);
    const auto& store = state_->stores[index_of(kind)];
    const auto it = store.find(Key{namespace_name, name});
    if (it == store.end()) {
        return std::nullopt;
    }
    return with_kind(kind, it->second);
}

std::size_t FakeKubeApi::object_count(KubeKind kind) const {
    const std::lock_guard lock(state_->mu);
    return state_->stores[index_of(kind)].size();
}

std::uint64_t FakeKubeApi::resource_version() const {
    const std::lock_guard lock(state_->mu);
    return state_->rv;
}

void FakeKubeApi::compact() {
    const std::lock_guard lock(state_->mu);
    state_->compacted = state_->rv;
}

std::uint64_t FakeKubeApi::compacted_resource_version() const {
    const std::lock_guard lock(state_->mu);
    return state_->compacted;
}

void FakeKubeApi::close_watches() {
    run_on_server([](Server& server) { server.close_watches(true); });
}

void FakeKubeApi::reset_watches() {
    run_on_server([](Server& server) { server.close_watches(false); });
}

void FakeKubeApi::send_bookmarks() {
    run_on_server([](Server& server) { server.pump_watches(true); });
}

void FakeKubeApi::set_bookmark_interval_ms(std::uint64_t ms) {
    const std::lock_guard lock(state_->mu);
    state_->bookmark_interval_ms = ms;
}

void FakeKubeApi::set_watch_framing(WatchFraming framing) {
    const std::lock_guard lock(state_->mu);
    state_->framing = framing;
}

void FakeKubeApi::set_expired_watch_as_http_410(bool on) {
    const std::lock_guard lock(state_->mu);
    state_->expired_as_http_410 = on;
}

void FakeKubeApi::set_stall_watches(bool on) {
    const std::lock_guard lock(state_->mu);
    state_->stall_watches = on;
}

void FakeKubeApi::set_response_delay_ms(std::uint64_t ms) {
    const std::lock_guard lock(state_->mu);
    state_->response_delay_ms = ms;
}

void FakeKubeApi::corrupt_next(int n, KubeVerb verb, std::optional<KubeKind> kind) {
    const std::lock_guard lock(state_->mu);
    state_->failure = Failure{n, 200, 0, verb, kind, true};
}

void FakeKubeApi::set_max_page_size(std::size_t n) {
    const std::lock_guard lock(state_->mu);
    state_->max_page_size = n;
}

std::size_t FakeKubeApi::open_watches(std::optional<KubeKind> kind) const {
    const std::lock_guard lock(state_->mu);
    if (kind) {
        return state_->open_watches[index_of(*kind)];
    }
    return state_->open_watches[0] + state_->open_watches[1];
}

void FakeKubeApi::fail_next(int n, int status, int retry_after_s, KubeVerb verb,
                            std::optional<KubeKind> kind) {
    const std::lock_guard lock(state_->mu);
    state_->failure = Failure{n, status, retry_after_s, verb, kind};
}

void FakeKubeApi::stop() {
    run_on_server([](Server& server) {
        server.shutdown();
        const std::lock_guard lock(server.state().mu);
        server.state().running = false;
        server.state().notify_locked();
    });
}

bool FakeKubeApi::restart() {
    bool ok = false;
    run_on_server([&ok](Server& server) {
        std::uint16_t port = 0;
        {
            const std::lock_guard lock(server.state().mu);
            port = server.state().port;
        }
        // A restart of a running server drops its connections first, as a real restart does.
        server.shutdown();
        ok = server.listen(port) == port;
        const std::lock_guard lock(server.state().mu);
        server.state().running = ok;
        server.state().notify_locked();
    });
    return ok;
}

bool FakeKubeApi::running() const {
    const std::lock_guard lock(state_->mu);
    return state_->running;
}

KubeRequestCounts FakeKubeApi::counts(KubeKind kind) const {
    const std::lock_guard lock(state_->mu);
    return state_->counts[index_of(kind)];
}

std::uint64_t FakeKubeApi::unauthorized_count() const {
    const std::lock_guard lock(state_->mu);
    return state_->unauthorized;
}

std::uint64_t FakeKubeApi::total_requests() const {
    const std::lock_guard lock(state_->mu);
    return state_->log.size();
}

std::vector<RecordedRequest> FakeKubeApi::requests() const {
    const std::lock_guard lock(state_->mu);
    return state_->log;
}

RecordedRequest FakeKubeApi::last_request(std::optional<KubeKind> kind) const {
    const std::lock_guard lock(state_->mu);
    for (auto it = state_->log.rbegin(); it != state_->log.rend(); ++it) {
        if (!kind) {
            return *it;
        }
        const Route r = route(it->path);
        if ((r.type == Route::Type::Collection || r.type == Route::Type::Object) &&
            r.kind == *kind) {
            return *it;
        }
    }
    return {};
}

std::uint64_t FakeKubeApi::connections_accepted() const {
    const std::lock_guard lock(state_->mu);
    return state_->accepted;
}

bool FakeKubeApi::wait_for_watches(std::size_t n, std::chrono::milliseconds timeout,
                                   std::optional<KubeKind> kind) const {
    return wait_until([&] { return open_watches(kind) >= n; }, timeout);
}

bool FakeKubeApi::wait_until(const std::function<bool()>& condition,
                             std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        std::unique_lock lock(state_->mu);
        // The condition reads state under the same mutex, so it is checked unlocked; a change
        // between the check and this wait is caught by the short bound on each wait.
        if (state_->changed.wait_until(
                lock, std::min(deadline,
                               std::chrono::steady_clock::now() + std::chrono::milliseconds(20))) ==
                std::cv_status::timeout &&
            std::chrono::steady_clock::now() >= deadline) {
            lock.unlock();
            return condition();
        }
    }
    return true;
}

}  // namespace sonde::test

#include "prober/net/http_server.hpp"

#include <cassert>
#include <charconv>
#include <cstdio>
#include <list>
#include <utility>

#include <llhttp.h>
#include <netdb.h>

#include "prober/core/uv_error.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/gzip.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/llhttp_error.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_server.hpp"

namespace sonde::net {
namespace {

// Room the kernel keeps for connections not yet accepted (Linux caps it at somaxconn).
constexpr int kBacklog = 511;
// After a Connection: close reply the server half-closes and keeps reading for this long
// before closing, so that request bytes still in flight do not turn the close into a reset
// that would destroy the reply in the client's buffer (Go's closeWriteAndWait).
constexpr std::uint64_t kLingerMs = 500;

// Resolves a listen host once at startup. Go's net.Listen takes the first IPv4 address of a
// name when there is one, else the first address.
Result<IpAddress> resolve_listen_host(const std::string& host) {
    if (auto literal = IpAddress::parse(host)) {
        return *literal;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
        return unexpected("lookup " + host + ": " + gai_strerror(rc));
    }
    std::optional<IpAddress> first;
    std::optional<IpAddress> first_v4;
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET && !first_v4) {
            first_v4 =
                IpAddress::from_v4(reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr);
        } else if (ai->ai_family == AF_INET6 && !first) {
            first =
                IpAddress::from_v6(reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr);
        }
    }
    ::freeaddrinfo(list);
    if (first_v4) {
        return *first_v4;
    }
    if (first) {
        return *first;
    }
    return unexpected("lookup " + host + ": no addresses");
}

}  // namespace

struct HttpServer::Core {
    Core(Loop& l, HttpHandler h, HttpServerLimits lim)
        : loop(l), handler(std::move(h)), limits(lim) {}

    static void on_connection(uv_stream_t* listener, int status) noexcept;
    // Takes a closed session out of the list and frees it on a later iteration.
    void release(detail::HttpSession* session);
    void shutdown();

    Loop& loop;
    HttpHandler handler;
    HttpServerLimits limits;
    HttpServerStats stats;
    std::shared_ptr<HttpServerGate> gate;
    std::vector<UvHandle<uv_tcp_t>> listeners;
    std::list<std::unique_ptr<detail::HttpSession>> sessions;
    bool stopped = false;
};

namespace detail {

// One accepted connection. Owned by Core::sessions; freed through loop.defer_delete() once
// closed, so every entry point first checks state_ and returns when Closed.
class HttpSession {
public:
    explicit HttpSession(HttpServer::Core& core);
    ~HttpSession();
    HttpSession(const HttpSession&) = delete;
    HttpSession& operator=(const HttpSession&) = delete;

    Result<void> accept(uv_stream_t* listener) { return stream_.accept_from(listener); }
    void start();
    // Closes the socket and timer at once and releases this session to deferred deletion.
    // With notify, a pending responder's cancel callback runs, as the last thing done.
    void close(bool notify);

    // HttpResponder's side.
    void respond(HttpResponse response);
    void respond_streaming(HttpResponse head, HttpResponder::BodySource source);
    void abandon();

    // llhttp callbacks; parser->data is the session.
    static int on_message_begin(llhttp_t* parser) noexcept;
    static int on_url(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_field(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_value(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_value_complete(llhttp_t* parser) noexcept;
    static int on_headers_complete(llhttp_t* parser) noexcept;
    static int on_body(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_message_complete(llhttp_t* parser) noexcept;

    std::list<std::unique_ptr<HttpSession>>::iterator self;
    HttpResponder* responder = nullptr;
    std::function<void()> cancel;

private:
    enum class State { Reading, Handling, Writing, Lingering, Closed };
    enum class Timer { None, Handshake, Header, Body, Idle, Write, Linger };

    static void on_timer(uv_timer_t* timer) noexcept;
    void arm(Timer which);
    void on_data(std::string_view data);
    void on_end(int status);
    void on_handshake(bool ok);
    void pump();
    void dispatch();
    void send(std::string bytes, bool close_after);
    void on_written(int status);
    void on_piece_written(int status);
    void reject(int status, std::string reason);
    int fail_in_callback(int status, std::string reason);
    int count_header_bytes(std::size_t length);
    void update_read_backpressure();

    HttpServer::Core& core_;
    ServerStream stream_;
    UvHandle<uv_timer_t> timer_;
    llhttp_t parser_{};
    State state_ = State::Reading;
    Timer timer_kind_ = Timer::None;
    std::string pending_;  // received, not yet parsed (pipelined requests wait here)
    HttpRequest request_;
    std::string field_;
    std::string value_;
    std::string peer_;
    std::size_t header_bytes_ = 0;
    int reject_status_ = 0;
    std::string reject_reason_;
    bool close_after_response_ = false;
    bool peer_closed_ = false;
    bool reading_paused_ = false;
    // A streamed body in progress: its source, its compressor and its framing.
    HttpResponder::BodySource source_;
    std::unique_ptr<GzipStream> gzip_;
    bool chunked_ = false;
};

}  // namespace detail

namespace {

llhttp_settings_t make_settings() {
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    using detail::HttpSession;
    settings.on_message_begin = &HttpSession::on_message_begin;
    settings.on_url = &HttpSession::on_url;
    settings.on_header_field = &HttpSession::on_header_field;
    settings.on_header_value = &HttpSession::on_header_value;
    settings.on_header_value_complete = &HttpSession::on_header_value_complete;
    settings.on_headers_complete = &HttpSession::on_headers_complete;
    settings.on_body = &HttpSession::on_body;
    settings.on_message_complete = &HttpSession::on_message_complete;
    return settings;
}

// llhttp keeps a pointer to its settings, so they live as long as the program.
const llhttp_settings_t kSettings = make_settings();

detail::HttpSession* session_of(llhttp_t* parser) {
    return static_cast<detail::HttpSession*>(parser->data);
}

}  // namespace

namespace detail {

HttpSession::HttpSession(HttpServer::Core& core) : core_(core), stream_(core.loop) {
    llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
    parser_.data = this;
}

HttpSession::~HttpSession() {
    if (responder != nullptr) {
        responder->detach();
    }
}

void HttpSession::start() {
    peer_ = stream_.peer_name();
    if (timer_.init(this, [this](uv_timer_t* t) { return uv_timer_init(core_.loop.raw(), t); }) !=
        0) {
        close(false);  // No timer, no slowloris protection: refuse the connection.
        return;
    }
    // The gate decides per connection, so a changed web config applies to the next one.
    auto tls = core_.gate ? core_.gate->tls_context() : nullptr;
    if (tls) {
        if (!stream_.use_tls(std::move(tls), [this](bool ok) { on_handshake(ok); })) {
            ++core_.stats.tls_handshake_failures;
            close(false);
            return;
        }
        arm(Timer::Handshake);
    } else {
        arm(Timer::Header);
    }
    stream_.start_reading([this](std::string_view data) { on_data(data); },
                          [this](int status) { on_end(status); });
}

void HttpSession::arm(Timer which) {
    timer_kind_ = which;
    std::uint64_t ms = 0;
    switch (which) {
        case Timer::None:
            uv_timer_stop(timer_.get());
            return;
        case Timer::Handshake:
            ms = core_.limits.tls_handshake_timeout_ms;
            break;
        case Timer::Header:
            ms = core_.limits.header_timeout_ms;
            break;
        case Timer::Body:
            ms = core_.limits.body_timeout_ms;
            break;
        case Timer::Idle:
            ms = core_.limits.idle_timeout_ms;
            break;
        case Timer::Write:
            ms = core_.limits.write_timeout_ms;
            break;
        case Timer::Linger:
            ms = kLingerMs;
            break;
    }
    uv_timer_start(timer_.get(), &HttpSession::on_timer, ms, 0);
}

void HttpSession::on_timer(uv_timer_t* timer) noexcept {
    auto* self = owner_of<HttpSession>(timer);
    if (self == nullptr || self->state_ == State::Closed) {
        return;
    }
    if (self->timer_kind_ != Timer::Linger) {
        ++self->core_.stats.timeouts;
    }
    self->close(false);
}

void HttpSession::on_data(std::string_view data) {
    if (state_ == State::Closed || state_ == State::Lingering) {
        return;  // Lingering: discarded, we only wait for the peer's FIN.
    }
    pending_.append(data);
    if (state_ == State::Reading) {
        pump();
    } else {
        update_read_backpressure();
    }
}

void HttpSession::on_handshake(bool ok) {
    if (state_ == State::Closed) {
        return;
    }
    if (ok) {
        arm(Timer::Header);
        return;
    }
    ++core_.stats.tls_handshake_failures;
    // The alert OpenSSL queued goes out before the FIN; closing at once could turn it into a
    // reset that hides the reason from the client.
    state_ = State::Lingering;
    stream_.shutdown_write();
    arm(Timer::Linger);
}

void HttpSession::update_read_backpressure() {
    // While a request is in flight, pipelined bytes wait in pending_; past one maximal request
    // the socket is left to fill instead, which pushes back on the client.
    const std::size_t cap = core_.limits.max_header_bytes + core_.limits.max_body_bytes;
    if (!reading_paused_ && pending_.size() > cap) {
        stream_.stop_reading();
        reading_paused_ = true;
    } else if (reading_paused_ && pending_.size() <= cap) {
        reading_paused_ = false;
        stream_.start_reading([this](std::string_view data) { on_data(data); },
                              [this](int status) { on_end(status); });
    }
}

void HttpSession::on_end(int /*status*/) {
    if (state_ == State::Closed) {
        return;
    }
    peer_closed_ = true;
    switch (state_) {
        case State::Handling:
            // As Go's server does, a client that hangs up (even half-closes) while its request
            // is in flight is taken as gone: the handler's work is cancelled.
            ++core_.stats.cancelled;
            close(true);
            return;
        case State::Reading:
            // A request cut short cannot be answered; llhttp_finish only confirms the state.
            (void)llhttp_finish(&parser_);
            close(false);
            return;
        case State::Writing:
            return;  // on_written closes once the reply is out.
        case State::Lingering:
        case State::Closed:
            close(false);
            return;
    }
}

void HttpSession::pump() {
    while (state_ == State::Reading && !pending_.empty()) {
        const char* data = pending_.data();
        const llhttp_errno_t err = llhttp_execute(&parser_, data, pending_.size());
        if (err == HPE_OK) {
            pending_.clear();
            break;
        }
        if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
            // on_message_complete paused the parser right after the message; what follows is
            // the next pipelined request and waits until this one is answered.
            const auto used = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
            pending_.erase(0, used);
            if (err == HPE_PAUSED) {
                llhttp_resume(&parser_);
            } else {
                // After an Upgrade or CONNECT the bytes are not HTTP; answer and close.
                close_after_response_ = true;
                pending_.clear();
            }
            dispatch();
            return;
        }
        if (reject_status_ != 0) {
            reject(reject_status_, std::move(reject_reason_));
        } else {
            reject(400, llhttp_error_text(parser_, err));
        }
        return;
    }
    update_read_backpressure();
    if (state_ == State::Reading && peer_closed_) {
        close(false);
    }
}

void HttpSession::dispatch() {
    state_ = State::Handling;
    arm(Timer::None);
    ++core_.stats.requests;
    HttpResponder handle(this);
    responder = &handle;
    // The handler may answer, keep the responder, stop the server or destroy it: this session
    // (and Core) outlive the call because they are only ever freed by deferred deletion.
    if (core_.gate) {
        const auto gate = core_.gate;  // set_gate() inside admit() must not free it
        gate->admit(request_, std::move(handle), core_.handler);
        return;
    }
    core_.handler(request_, std::move(handle));
}

void HttpSession::respond(HttpResponse response) {
    if (state_ != State::Handling) {
        return;
    }
    responder = nullptr;
    cancel = nullptr;
    const bool close_after =
        close_after_response_ || !request_.keep_alive || peer_closed_ || core_.stopped;
    ResponseFraming framing;
    framing.head_request = request_.method == "HEAD";
    framing.close = close_after;
    framing.keep_alive_10 = !close_after && request_.http_major == 1 && request_.http_minor == 0;
    framing.allow_gzip = request_.accepts_gzip();
    framing.gzip_min_bytes = core_.limits.gzip_min_bytes;
    if (core_.gate) {
        core_.gate->add_headers(response.headers);
    }
    send(encode_response(std::move(response), framing), close_after);
}

void HttpSession::respond_streaming(HttpResponse head, HttpResponder::BodySource source) {
    if (state_ != State::Handling) {
        return;
    }
    responder = nullptr;
    cancel = nullptr;
    const bool http11 =
        request_.http_major > 1 || (request_.http_major == 1 && request_.http_minor >= 1);
    // An HTTP/1.0 client cannot read chunks: its body ends with the connection.
    const bool close_after =
        close_after_response_ || !request_.keep_alive || peer_closed_ || core_.stopped || !http11;
    ResponseFraming framing;
    framing.head_request = request_.method == "HEAD";
    framing.close = close_after;
    chunked_ = http11;
    const bool gzip = request_.accepts_gzip();
    if (core_.gate) {
        core_.gate->add_headers(head.headers);
    }
    std::string bytes = encode_stream_head(std::move(head), framing, chunked_, gzip);
    if (framing.head_request) {
        send(std::move(bytes), close_after);
        return;
    }
    if (gzip) {
        // The fastest level: a big body costs the loop less, and is still many times smaller.
        gzip_ = std::make_unique<GzipStream>(1);
    }
    source_ = std::move(source);
    state_ = State::Writing;
    close_after_response_ = close_after;
    arm(Timer::Write);
    stream_.write(std::move(bytes), [this](int status) { on_piece_written(status); });
}

void HttpSession::on_piece_written(int status) {
    if (state_ != State::Writing) {
        return;
    }
    if (status != 0 || peer_closed_) {
        close(false);
        return;
    }
    if (!source_) {
        on_written(0);  // the last piece is out
        return;
    }
    arm(Timer::Write);
    std::string frame;
    bool more = true;
    while (frame.empty() && more) {
        std::string piece;
        // Called from a local: if the source stops the server, close() cannot destroy it while
        // it runs.
        auto source = std::move(source_);
        more = source(piece);
        if (state_ != State::Writing) {
            return;
        }
        if (more) {
            source_ = std::move(source);
        }
        std::string data;
        if (gzip_) {
            if (!gzip_->write(piece, !more, data)) {
                close(false);  // out of memory: the body cannot be finished
                return;
            }
        } else {
            data = std::move(piece);
        }
        if (!chunked_) {
            frame = std::move(data);
            continue;
        }
        if (!data.empty()) {
            char size[20];
            const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
            frame.reserve(static_cast<std::size_t>(n) + data.size() + 7);
            frame.append(size, static_cast<std::size_t>(n));
            frame += data;
            frame += "\r\n";
        }
        if (!more) {
            frame += "0\r\n\r\n";
        }
    }
    if (!more) {
        gzip_.reset();
    }
    if (frame.empty()) {
        on_written(0);  // an empty last piece of a body without chunks: nothing left to send
        return;
    }
    stream_.write(std::move(frame), [this](int written) { on_piece_written(written); });
}

void HttpSession::abandon() {
    respond(HttpResponse::text(500, "Internal Server Error: the handler dropped the request\n"));
}

void HttpSession::send(std::string bytes, bool close_after) {
    state_ = State::Writing;
    close_after_response_ = close_after;
    arm(Timer::Write);
    stream_.write(std::move(bytes), [this](int status) { on_written(status); });
}

void HttpSession::on_written(int status) {
    if (state_ != State::Writing) {
        return;
    }
    if (status != 0 || peer_closed_) {
        close(false);
        return;
    }
    if (close_after_response_) {
        state_ = State::Lingering;
        pending_.clear();
        stream_.shutdown_write();
        arm(Timer::Linger);
        if (reading_paused_) {
            reading_paused_ = false;
            stream_.start_reading([this](std::string_view data) { on_data(data); },
                                  [this](int end) { on_end(end); });
        }
        return;
    }
    state_ = State::Reading;
    arm(Timer::Idle);
    pump();
}

void HttpSession::reject(int status, std::string reason) {
    ++core_.stats.bad_requests;
    ResponseFraming framing;
    framing.close = true;
    framing.gzip_min_bytes = core_.limits.gzip_min_bytes;
    const std::string phrase(http_reason_phrase(status));
    auto response = HttpResponse::text(status, phrase + ": " + reason + "\n");
    if (core_.gate) {
        core_.gate->add_headers(response.headers);
    }
    send(encode_response(std::move(response), framing), true);
}

void HttpSession::close(bool notify) {
    if (state_ == State::Closed) {
        return;
    }
    state_ = State::Closed;
    timer_.reset();
    stream_.close();
    // A streamed body's source may hold much (a render in progress): drop it now.
    source_ = nullptr;
    gzip_.reset();
    if (responder != nullptr) {
        responder->detach();
        responder = nullptr;
    }
    auto cancel_fn = std::exchange(cancel, nullptr);
    core_.release(this);  // deferred: `this` stays valid until a later loop iteration
    if (notify && cancel_fn) {
        cancel_fn();
    }
}

int HttpSession::fail_in_callback(int status, std::string reason) {
    reject_status_ = status;
    reject_reason_ = std::move(reason);
    return HPE_USER;
}

int HttpSession::count_header_bytes(std::size_t length) {
    header_bytes_ += length;
    if (header_bytes_ > core_.limits.max_header_bytes) {
        return fail_in_callback(431, "request headers exceed " +
                                         std::to_string(core_.limits.max_header_bytes) + " bytes");
    }
    return 0;
}

int HttpSession::on_message_begin(llhttp_t* parser) noexcept {
    auto* self = session_of(parser);
    self->request_ = HttpRequest{};
    self->request_.peer = self->peer_;
    self->field_.clear();
    self->value_.clear();
    self->header_bytes_ = 0;
    // A connection's first request keeps the timer armed at accept; a later one gets the
    // header timeout from its first byte, after the idle wait.
    if (self->timer_kind_ != Timer::Header) {
        self->arm(Timer::Header);
    }
    return 0;
}

int HttpSession::on_url(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    auto* self = session_of(parser);
    self->request_.target.append(at, length);
    return self->count_header_bytes(length);
}

int HttpSession::on_header_field(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    auto* self = session_of(parser);
    self->field_.append(at, length);
    return self->count_header_bytes(length);
}

int HttpSession::on_header_value(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    auto* self = session_of(parser);
    self->value_.append(at, length);
    return self->count_header_bytes(length);
}

int HttpSession::on_header_value_complete(llhttp_t* parser) noexcept {
    auto* self = session_of(parser);
    self->request_.headers.add(std::exchange(self->field_, {}), std::exchange(self->value_, {}));
    return self->count_header_bytes(4);  // ": " and CRLF, as Go counts the raw line
}

int HttpSession::on_headers_complete(llhttp_t* parser) noexcept {
    auto* self = session_of(parser);
    auto& request = self->request_;
    request.method = llhttp_method_name(static_cast<llhttp_method_t>(parser->method));
    request.http_major = parser->http_major;
    request.http_minor = parser->http_minor;
    auto split = split_target(request.target);
    if (!split) {
        return self->fail_in_callback(400, split.error());
    }
    request.path = std::move(split->path);
    request.query = std::move(split->query);
    const std::size_t max_body = self->core_.limits.max_body_bytes;
    const bool has_length = (parser->flags & F_CONTENT_LENGTH) != 0;
    if (has_length && parser->content_length > max_body) {
        return self->fail_in_callback(
            413, "request body exceeds " + std::to_string(max_body) + " bytes");
    }
    const bool has_body =
        (has_length && parser->content_length > 0) || (parser->flags & F_CHUNKED) != 0;
    if (has_body) {
        // curl and others wait (about a second) for an interim 100 before sending a body.
        const std::string* expect = request.header("expect");
        if (expect != nullptr && iequals(*expect, "100-continue") &&
            (request.http_major > 1 || request.http_minor >= 1)) {
            self->stream_.write("HTTP/1.1 100 Continue\r\n\r\n");
        }
        self->arm(Timer::Body);
    }
    return 0;
}

int HttpSession::on_body(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    auto* self = session_of(parser);
    const std::size_t max_body = self->core_.limits.max_body_bytes;
    if (self->request_.body.size() + length > max_body) {
        return self->fail_in_callback(
            413, "request body exceeds " + std::to_string(max_body) + " bytes");
    }
    self->request_.body.append(at, length);
    return 0;
}

int HttpSession::on_message_complete(llhttp_t* parser) noexcept {
    auto* self = session_of(parser);
    self->request_.keep_alive = llhttp_should_keep_alive(parser) != 0;
    if (parser->upgrade != 0) {
        self->close_after_response_ = true;
    }
    // Pausing stops llhttp right after this message: requests are handled one at a time.
    return HPE_PAUSED;
}

}  // namespace detail

// ---- HttpResponder ----

HttpResponder::HttpResponder(HttpResponder&& other) noexcept
    : session_(std::exchange(other.session_, nullptr)) {
    if (session_ != nullptr) {
        session_->responder = this;
    }
}

HttpResponder& HttpResponder::operator=(HttpResponder&& other) noexcept {
    if (this != &other) {
        if (session_ != nullptr) {
            std::exchange(session_, nullptr)->abandon();
        }
        session_ = std::exchange(other.session_, nullptr);
        if (session_ != nullptr) {
            session_->responder = this;
        }
    }
    return *this;
}

HttpResponder::~HttpResponder() {
    if (session_ != nullptr) {
        std::exchange(session_, nullptr)->abandon();
    }
}

void HttpResponder::respond(HttpResponse response) {
    if (session_ == nullptr) {
        return;
    }
    std::exchange(session_, nullptr)->respond(std::move(response));
}

void HttpResponder::respond_streaming(HttpResponse head, BodySource source) {
    if (session_ == nullptr) {
        return;
    }
    std::exchange(session_, nullptr)->respond_streaming(std::move(head), std::move(source));
}

void HttpResponder::on_cancel(std::function<void()> fn) {
    if (session_ != nullptr) {
        session_->cancel = std::move(fn);
    }
}

void HttpResponder::detach() {
    session_ = nullptr;
}

// ---- Core ----

void HttpServer::Core::on_connection(uv_stream_t* listener, int status) noexcept {
    auto* core = owner_of<Core>(listener);
    if (core == nullptr || status < 0) {
        return;  // EMFILE and the like: libuv retries on the next readiness.
    }
    if (core->sessions.size() >= core->limits.max_connections) {
        // Accepted only to be closed: see HttpServerLimits::max_connections.
        TcpStream refused(core->loop);
        (void)refused.accept_from(listener);
        ++core->stats.connections_rejected;
        return;
    }
    auto session = std::make_unique<detail::HttpSession>(*core);
    if (!session->accept(listener)) {
        return;
    }
    ++core->stats.connections_accepted;
    auto* raw = session.get();
    core->sessions.push_back(std::move(session));
    raw->self = std::prev(core->sessions.end());
    raw->start();
}

void HttpServer::Core::release(detail::HttpSession* session) {
    auto owned = std::move(*session->self);
    sessions.erase(session->self);
    loop.defer_delete(std::move(owned));
}

void HttpServer::Core::shutdown() {
    stopped = true;
    listeners.clear();
    while (!sessions.empty()) {
        sessions.front()->close(false);
    }
}

// ---- HttpServer ----

HttpServer::HttpServer(Loop& loop, HttpHandler handler, HttpServerLimits limits)
    : loop_(loop), core_(std::make_unique<Core>(loop, std::move(handler), limits)) {
}

HttpServer::~HttpServer() {
    core_->shutdown();
    // The destructor may run inside the handler, on a session's stack: Core (and with it the
    // handler being executed) is freed on a later iteration.
    loop_.defer_delete(std::move(core_));
}

void HttpServer::stop() {
    core_->shutdown();
}

std::size_t HttpServer::connection_count() const {
    return core_->sessions.size();
}

const HttpServerStats& HttpServer::stats() const {
    return core_->stats;
}

void HttpServer::set_gate(std::shared_ptr<HttpServerGate> gate) {
    core_->gate = std::move(gate);
}

Result<void> HttpServer::listen(std::string_view listen_address) {
    if (core_->stopped) {
        return unexpected("listen " + std::string(listen_address) + ": server stopped");
    }
    const auto host_port = split_host_port(listen_address);
    if (!host_port) {
        return unexpected("listen " + std::string(listen_address) + ": not host:port");
    }
    std::uint16_t port = 0;
    const auto& port_text = host_port->port;
    const auto parsed =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || parsed.ec != std::errc{} ||
        parsed.ptr != port_text.data() + port_text.size()) {
        return unexpected("listen " + std::string(listen_address) + ": invalid port");
    }

    std::vector<IpAddress> candidates;
    if (host_port->host.empty()) {
        // One dual-stack socket (libuv leaves IPV6_V6ONLY off) serves both families, as Go's
        // ":port" does; IPv4 alone when the host has no IPv6.
        candidates.push_back(*IpAddress::parse("::"));
        candidates.push_back(*IpAddress::parse("0.0.0.0"));
    } else {
        auto address = resolve_listen_host(host_port->host);
        if (!address) {
            return unexpected("listen " + std::string(listen_address) + ": " + address.error());
        }
        candidates.push_back(*address);
    }

    std::string last_error;
    for (const auto& address : candidates) {
        UvHandle<uv_tcp_t> listener;
        int rc =
            listener.init(core_.get(), [this](uv_tcp_t* t) { return uv_tcp_init(loop_.raw(), t); });
        if (rc == 0) {
            const auto sa = address.to_sockaddr(port);
            rc = uv_tcp_bind(listener.get(), reinterpret_cast<const sockaddr*>(&sa), 0);
        }
        if (rc == 0) {
            rc = uv_listen(listener.as_stream(), kBacklog, &Core::on_connection);
        }
        if (rc == 0) {
            core_->listeners.push_back(std::move(listener));
            return {};
        }
        last_error = uv_error_text(rc);
        // Only a missing address family is worth the IPv4 fallback; EADDRINUSE is final.
        if (rc != UV_EAFNOSUPPORT && rc != UV_EADDRNOTAVAIL) {
            break;
        }
    }
    return unexpected("listen " + std::string(listen_address) + ": " + last_error);
}

std::uint16_t HttpServer::bound_port() const {
    if (core_->listeners.empty()) {
        return 0;
    }
    sockaddr_storage storage{};
    int len = sizeof storage;
    if (uv_tcp_getsockname(core_->listeners.front().get(), reinterpret_cast<sockaddr*>(&storage),
                           &len) != 0) {
        return 0;
    }
    if (storage.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
}

std::vector<std::string> HttpServer::bound_addresses() const {
    std::vector<std::string> out;
    for (const auto& listener : core_->listeners) {
        sockaddr_storage storage{};
        int len = sizeof storage;
        if (uv_tcp_getsockname(listener.get(), reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
            out.push_back(sockaddr_text(storage));
        }
    }
    return out;
}

}  // namespace sonde::net

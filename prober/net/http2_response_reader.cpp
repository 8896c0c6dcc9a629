#include "prober/net/http2_response_reader.hpp"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "config/ascii.hpp"

namespace sonde::net {
namespace {

// Flow-control windows for the one stream and the connection (Go: 4 MiB and 1 GiB). 1 MiB keeps
// a large body flowing without a WINDOW_UPDATE per 64 KiB (the protocol's default); the body
// cap, not the window, bounds what is held.
constexpr std::int32_t kHttp2StreamWindow = 1 << 20;

// kHttp2NoCallbackFailure: a callback that finds the response unacceptable (over a cap, a bad
// :status) marks the reader Failed and returns 0 rather than NGHTTP2_ERR_CALLBACK_FAILURE: a
// Failed reader ignores every later callback and feed(), and the exchange closes the
// connection, so what nghttp2 still parses of the current chunk goes nowhere, and nghttp2's
// own error paths (Debian's build keeps its assert()s) are not entered on our account.

// Fields that are about one HTTP/1.1 connection and are forbidden in HTTP/2 (RFC 9113
// §8.2.2); Host becomes :authority. TE is allowed with "trailers" only.
bool http2_drops_field(std::string_view lower_name, std::string_view value) {
    if (lower_name == "te") {
        return value != "trailers";
    }
    return lower_name == "host" || lower_name == "connection" || lower_name == "keep-alive" ||
           lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
           lower_name == "upgrade" || lower_name == "content-length";
}

nghttp2_nv http2_field(const std::string& name, const std::string& value) {
    // nghttp2 copies names and values when submitting, so these may point into temporaries
    // that outlive only the submit call.
    return nghttp2_nv{
        const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
        const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())), name.size(),
        value.size(), NGHTTP2_NV_FLAG_NONE};
}

std::string_view as_view(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace

struct Http2ResponseReader::Impl {
    nghttp2_session* session = nullptr;
    ~Impl() { nghttp2_session_del(session); }
};

// nghttp2 calls these from inside nghttp2_session_mem_recv/mem_send, i.e. from feed() and
// take_output(): never from a socket callback, so the reader is always alive and whole.
struct Http2ResponseReader::Callbacks {
    static Http2ResponseReader& self(void* user_data) {
        return *static_cast<Http2ResponseReader*>(user_data);
    }

    static int on_begin_headers(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                                void* user_data) {
        Http2ResponseReader& r = self(user_data);
        if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != r.stream_id_) {
            return 0;
        }
        r.response_started_ = true;
        r.in_trailers_ = r.head_complete_;
        r.block_status_ = 0;
        if (!r.head_complete_) {
            r.head_.headers = {};  // an interim block's fields are not the response's
        }
        return 0;
    }

    static int on_header(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                         const std::uint8_t* name, std::size_t name_len, const std::uint8_t* value,
                         std::size_t value_len, std::uint8_t /*flags*/, void* user_data) {
        Http2ResponseReader& r = self(user_data);
        // A PUSH_PROMISE sent before the server acknowledged ENABLE_PUSH 0 also arrives here,
        // with our stream's id: its request fields are not the response's.
        if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != r.stream_id_ ||
            r.state_ == State::Failed) {
            return 0;
        }
        r.header_bytes_ += name_len + value_len;
        if (r.header_bytes_ > r.limits_.max_header_bytes) {
            r.fail("the response headers exceed " + std::to_string(r.limits_.max_header_bytes) +
                       " bytes",
                   true);
            return 0;  // see kHttp2NoCallbackFailure
        }
        const std::string_view n = as_view(name, name_len);
        const std::string_view v = as_view(value, value_len);
        if (r.in_trailers_) {
            r.trailers_.add(std::string(n), std::string(v));
            return 0;
        }
        if (n == ":status") {
            int status = 0;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), status);
            r.block_status_ = (ec == std::errc() && end == v.data() + v.size()) ? status : 0;
            return 0;
        }
        if (!n.empty() && n.front() == ':') {
            return 0;  // nghttp2 has already refused pseudo-fields other than :status
        }
        r.head_.headers.add(std::string(n), std::string(v));
        return 0;
    }

    static int on_frame_recv(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                             void* user_data) {
        Http2ResponseReader& r = self(user_data);
        if (frame->hd.stream_id != r.stream_id_ || r.state_ == State::Failed) {
            return 0;
        }
        const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (frame->hd.type == NGHTTP2_HEADERS && !r.head_complete_) {
            if (r.block_status_ < 100 || r.block_status_ > 999) {
                // nghttp2 checks for three digits only ("099" passes); Go refuses it too.
                r.fail("the server sent an invalid HTTP/2 :status");
                return 0;  // see kHttp2NoCallbackFailure
            }
            if (r.block_status_ < 200) {
                return 0;  // interim (100 Continue, 103 Early Hints): skipped as Go does
            }
            r.head_.status = r.block_status_;
            r.head_.http_major = 2;
            r.head_.http_minor = 0;
            r.head_.content_length = -1;
            if (const std::string* length = r.head_.headers.find("content-length")) {
                std::int64_t n = -1;
                const auto [end, ec] =
                    std::from_chars(length->data(), length->data() + length->size(), n);
                if (ec == std::errc() && end == length->data() + length->size()) {
                    r.head_.content_length = n;
                }
            }
            if (r.head_.content_length < 0 && end_stream && !r.head_request_) {
                r.head_.content_length = 0;  // as Go's transport: a head that ends the stream
            }
            r.head_complete_ = true;
            r.head_ended_stream_ = end_stream;
            r.state_ = State::Body;
        } else if (frame->hd.type == NGHTTP2_HEADERS) {
            r.trailers_received_ = true;
        }
        if (end_stream && r.head_complete_) {
            r.complete();
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session* /*session*/, std::uint8_t /*flags*/,
                             std::int32_t stream_id, const std::uint8_t* data, std::size_t len,
                             void* user_data) {
        Http2ResponseReader& r = self(user_data);
        if (stream_id != r.stream_id_ || r.state_ != State::Body) {
            return 0;
        }
        r.body_bytes_ += len;
        if (r.head_request_) {
            return 0;  // a HEAD answer's body is not the response's
        }
        if (r.limits_.max_body_bytes != 0 && r.body_.size() + len > r.limits_.max_body_bytes) {
            r.fail(
                "the response body exceeds " + std::to_string(r.limits_.max_body_bytes) + " bytes",
                true);
            return 0;  // see kHttp2NoCallbackFailure
        }
        r.body_.append(reinterpret_cast<const char*>(data), len);
        return 0;
    }

    static int on_stream_close(nghttp2_session* /*session*/, std::int32_t stream_id,
                               std::uint32_t error_code, void* user_data) {
        Http2ResponseReader& r = self(user_data);
        if (stream_id != r.stream_id_ || r.state_ == State::Complete || r.state_ == State::Failed) {
            return 0;
        }
        if (error_code == NGHTTP2_REFUSED_STREAM) {
            r.fail("the server refused the HTTP/2 stream (REFUSED_STREAM)");
        } else {
            r.fail(std::string("the HTTP/2 stream was reset: ") +
                   nghttp2_http2_strerror(error_code));
        }
        return 0;
    }

    // nghttp2 answers a connection error (bytes that are not HTTP/2, a frame over the size
    // limit, a bad window update) by queueing GOAWAY and ignoring the rest; no stream callback
    // says so. The GOAWAY going out is where the reader learns it.
    static int on_frame_send(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                             void* user_data) {
        Http2ResponseReader& r = self(user_data);
        if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
            !r.ended_ && r.state_ != State::Complete) {
            std::string reason = "the server's HTTP/2 frames are invalid (";
            reason += nghttp2_http2_strerror(frame->goaway.error_code);
            if (!r.connection_error_.empty()) {
                reason += ": " + r.connection_error_;
            }
            r.fail(reason + ")");
        }
        return 0;
    }

    static int on_error(nghttp2_session* /*session*/, int /*lib_error_code*/, const char* msg,
                        std::size_t len, void* user_data) {
        Http2ResponseReader& r = self(user_data);
        if (r.connection_error_.empty()) {
            r.connection_error_.assign(msg, len);
        }
        return 0;
    }

    static ssize_t read_request_body(nghttp2_session* /*session*/, std::int32_t /*stream_id*/,
                                     std::uint8_t* buf, std::size_t length,
                                     std::uint32_t* data_flags, nghttp2_data_source* /*source*/,
                                     void* user_data) {
        Http2ResponseReader& r = self(user_data);
        const std::size_t left = r.request_body_.size() - r.request_body_sent_;
        const std::size_t n = std::min(left, length);
        std::copy_n(r.request_body_.data() + r.request_body_sent_, n, buf);
        r.request_body_sent_ += n;
        if (r.request_body_sent_ == r.request_body_.size()) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        }
        return static_cast<ssize_t>(n);
    }
};

Http2ResponseReader::Http2ResponseReader(HttpResponseLimits limits, bool head_request)
    : impl_(std::make_unique<Impl>()), limits_(limits), head_request_(head_request) {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) {
        fail("HTTP/2: out of memory");
        return;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                            &Callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Callbacks::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Callbacks::on_frame_send);
    nghttp2_session_callbacks_set_error_callback2(callbacks, &Callbacks::on_error);
    if (nghttp2_session_client_new(&impl_->session, callbacks, this) != 0) {
        impl_->session = nullptr;
        fail("HTTP/2: out of memory");
    }
    nghttp2_session_callbacks_del(callbacks);
}

Http2ResponseReader::~Http2ResponseReader() = default;

Result<void> Http2ResponseReader::start(const Http2Request& request) {
    if (impl_->session == nullptr) {
        return unexpected(error_);
    }
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kHttp2StreamWindow)},
    };
    int rc = nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, settings,
                                     sizeof settings / sizeof settings[0]);
    if (rc == 0) {
        rc = nghttp2_session_set_local_window_size(impl_->session, NGHTTP2_FLAG_NONE, 0,
                                                   kHttp2StreamWindow);
    }
    if (rc != 0) {
        return unexpected(std::string("HTTP/2 settings: ") + nghttp2_strerror(rc));
    }

    // Names are lower-cased (HTTP/2 forbids upper case); the strings live until submit returns.
    std::vector<std::pair<std::string, std::string>> fields;
    fields.emplace_back(":method", request.method);
    fields.emplace_back(":scheme", request.scheme);
    fields.emplace_back(":authority", request.authority);
    fields.emplace_back(":path", request.path);
    for (const auto& field : request.headers.fields()) {
        std::string name = config::ascii_lower(field.name);
        if (!http2_drops_field(name, field.value)) {
            fields.emplace_back(std::move(name), field.value);
        }
    }
    if (request.send_content_length) {
        fields.emplace_back("content-length", std::to_string(request.body.size()));
    }
    std::vector<nghttp2_nv> nva;
    nva.reserve(fields.size());
    for (const auto& [name, value] : fields) {
        nva.push_back(http2_field(name, value));
    }

    request_body_ = request.body;
    nghttp2_data_provider body_provider{};
    body_provider.read_callback = &Callbacks::read_request_body;
    const std::int32_t id =
        nghttp2_submit_request(impl_->session, nullptr, nva.data(), nva.size(),
                               request.body.empty() ? nullptr : &body_provider, nullptr);
    if (id < 0) {
        return unexpected(std::string("HTTP/2 request: ") + nghttp2_strerror(id));
    }
    stream_id_ = id;
    return {};
}

std::string Http2ResponseReader::take_output() {
    std::string out;
    if (impl_->session == nullptr) {
        return out;
    }
    for (;;) {
        const std::uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(impl_->session, &data);
        if (n < 0) {
            if (state_ != State::Complete) {
                fail(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
            }
            break;
        }
        if (n == 0) {
            break;
        }
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    return out;
}

std::size_t Http2ResponseReader::feed(std::string_view data) {
    if (state_ == State::Complete || state_ == State::Failed || ended_ ||
        impl_->session == nullptr) {
        return data.size();
    }
    const ssize_t n = nghttp2_session_mem_recv(
        impl_->session, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    if (n < 0 && state_ != State::Failed && state_ != State::Complete) {
        // Bytes that are not HTTP/2 (an HTTP/1.1 answer to the preface among them).
        fail(std::string("the server's HTTP/2 frames are invalid: ") +
             nghttp2_strerror(static_cast<int>(n)));
    }
    if (state_ != State::Failed && state_ != State::Complete &&
        nghttp2_session_want_read(impl_->session) == 0 &&
        nghttp2_session_want_write(impl_->session) == 0) {
        fail("the server ended the HTTP/2 connection (GOAWAY) before the response was complete");
    }
    return data.size();
}

void Http2ResponseReader::finish() {
    if (state_ == State::Complete || state_ == State::Failed) {
        return;
    }
    if (!response_started_) {
        fail("the server closed the connection without sending a response");
    } else if (!head_complete_) {
        fail("the server closed the connection before the end of the response headers");
    } else {
        fail("the server closed the connection in the middle of the response body (" +
             std::to_string(body_bytes_) + " bytes read)");
    }
}

std::string Http2ResponseReader::take_body() {
    return std::exchange(body_, {});
}

void Http2ResponseReader::complete() {
    state_ = State::Complete;
}

void Http2ResponseReader::end_session() {
    // Not from inside a callback: terminating the session there, then meeting a malformed
    // frame later in the same chunk, trips an assert() in nghttp2 1.52 (found by the fuzzer).
    // feed() takes nothing after this.
    if (impl_->session != nullptr && !ended_) {
        ended_ = true;
        (void)nghttp2_session_terminate_session(impl_->session, NGHTTP2_NO_ERROR);
    }
}

void Http2ResponseReader::fail(std::string message, bool on_limit) {
    if (state_ == State::Failed) {
        return;
    }
    state_ = State::Failed;
    error_ = std::move(message);
    failed_on_limit_ = on_limit;
}

}  // namespace sonde::net

#include "prober/net/http_response_parser.hpp"

#include <algorithm>
#include <utility>

#include <llhttp.h>

#include "prober/net/llhttp_error.hpp"

namespace sonde::net {
namespace {

bool is_interim(int status) {
    // 101 ends HTTP on this connection; every other 1xx is followed by the real answer.
    return status >= 100 && status < 200 && status != 101;
}

}  // namespace

std::string HttpResponseHead::version() const {
    return "HTTP/" + std::to_string(http_major) + "." + std::to_string(http_minor);
}

struct HttpResponseParser::Impl {
    llhttp_t parser{};
};

// llhttp's callbacks. Each loads the parser from parser.data; they return -1 (HPE_USER) after
// recording a failure of ours, and HPE_PAUSED to stop at the end of the final response.
struct HttpResponseParser::Callbacks {
    static HttpResponseParser& self(llhttp_t* p) {
        return *static_cast<HttpResponseParser*>(p->data);
    }

    // Counts header bytes against the cap; false once it is exceeded.
    static bool count_header(HttpResponseParser& s, std::size_t n) {
        s.header_bytes_ += n;
        if (s.header_bytes_ > s.limits_.max_header_bytes) {
            s.fail(
                "response headers exceed " + std::to_string(s.limits_.max_header_bytes) + " bytes",
                true);
            return false;
        }
        return true;
    }

    static int on_message_begin(llhttp_t* p) {
        auto& s = self(p);
        s.saw_first_byte_ = true;
        // A new message: after an interim 1xx, the final answer starts from scratch.
        s.head_ = HttpResponseHead{};
        s.field_.clear();
        s.value_.clear();
        return 0;
    }
    static int on_status(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        if (!count_header(s, length)) {
            return -1;
        }
        s.head_.reason.append(at, length);
        return 0;
    }
    static int on_header_field(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        if (!count_header(s, length)) {
            return -1;
        }
        s.field_.append(at, length);
        return 0;
    }
    static int on_header_value(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        if (!count_header(s, length)) {
            return -1;
        }
        s.value_.append(at, length);
        return 0;
    }
    static int on_header_value_complete(llhttp_t* p) {
        auto& s = self(p);
        // ": " and CRLF count too, so that a flood of empty fields hits the cap.
        if (!count_header(s, 4)) {
            return -1;
        }
        s.head_.headers.add(std::exchange(s.field_, {}), std::exchange(s.value_, {}));
        return 0;
    }
    static int on_headers_complete(llhttp_t* p) {
        auto& s = self(p);
        const int status = static_cast<int>(p->status_code);
        s.head_.status = status;
        s.head_.http_major = p->http_major;
        s.head_.http_minor = p->http_minor;
        const bool chunked = (p->flags & F_CHUNKED) != 0;
        const bool has_length = (p->flags & F_CONTENT_LENGTH) != 0;
        if ((status >= 100 && status < 200) || status == 204 || status == 304) {
            s.head_.content_length = 0;
        } else if (chunked || !has_length) {
            s.head_.content_length = -1;
        } else {
            s.head_.content_length = static_cast<std::int64_t>(p->content_length);
        }
        if (is_interim(status)) {
            return 0;
        }
        s.state_ = State::Body;
        s.head_complete_ = true;
        const bool tunnel = s.request_ == RequestKind::Connect && status >= 200 && status < 300;
        // Returning 1 tells llhttp that no body follows, whatever the headers claim.
        return (s.request_ == RequestKind::Head || tunnel) ? 1 : 0;
    }
    static int on_body(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        if (s.limits_.max_body_bytes != 0 && s.body_.size() + length > s.limits_.max_body_bytes) {
            s.fail("response body exceeds " + std::to_string(s.limits_.max_body_bytes) + " bytes",
                   true);
            return -1;
        }
        s.body_.append(at, length);
        s.body_bytes_ += length;
        return 0;
    }
    static int on_message_complete(llhttp_t* p) {
        auto& s = self(p);
        if (is_interim(s.head_.status)) {
            s.header_bytes_ = 0;  // the cap applies to each response's headers
            return 0;
        }
        s.state_ = State::Complete;
        // Stop here: whatever follows is not part of this response.
        return HPE_PAUSED;
    }

    static const llhttp_settings_t& settings() {
        static const llhttp_settings_t kSettings = [] {
            llhttp_settings_t st;
            llhttp_settings_init(&st);
            st.on_message_begin = &Callbacks::on_message_begin;
            st.on_status = &Callbacks::on_status;
            st.on_header_field = &Callbacks::on_header_field;
            st.on_header_value = &Callbacks::on_header_value;
            st.on_header_value_complete = &Callbacks::on_header_value_complete;
            st.on_headers_complete = &Callbacks::on_headers_complete;
            st.on_body = &Callbacks::on_body;
            st.on_message_complete = &Callbacks::on_message_complete;
            return st;
        }();
        return kSettings;
    }
};

HttpResponseParser::HttpResponseParser(HttpResponseLimits limits, RequestKind request)
    : impl_(std::make_unique<Impl>()), limits_(limits), request_(request) {
    llhttp_init(&impl_->parser, HTTP_RESPONSE, &Callbacks::settings());
    impl_->parser.data = this;
    // An interim "HTTP/1.0 100" would otherwise make llhttp refuse the final answer after it.
    llhttp_set_lenient_keep_alive(&impl_->parser, 1);
}

HttpResponseParser::~HttpResponseParser() = default;

void HttpResponseParser::fail(std::string message, bool on_limit) {
    if (state_ == State::Failed) {
        return;
    }
    state_ = State::Failed;
    error_ = std::move(message);
    failed_on_limit_ = on_limit;
}

std::size_t HttpResponseParser::feed(std::string_view data) {
    if (state_ == State::Complete || state_ == State::Failed) {
        return 0;
    }
    if (data.empty()) {
        return 0;
    }
    llhttp_t& parser = impl_->parser;
    const llhttp_errno_t err = llhttp_execute(&parser, data.data(), data.size());
    if (err == HPE_OK) {
        return data.size();
    }
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        // The final response ended inside data (a 101 ends with an "upgrade" pause).
        state_ = State::Complete;
        const char* pos = llhttp_get_error_pos(&parser);
        if (pos == nullptr || pos < data.data()) {
            return data.size();
        }
        return std::min(data.size(), static_cast<std::size_t>(pos - data.data()));
    }
    if (err == HPE_USER && state_ == State::Failed) {
        return 0;  // one of our caps; error_ already says which
    }
    fail("malformed HTTP response: " + llhttp_error_text(parser, err), false);
    return 0;
}

std::string HttpResponseParser::peer_closed_text() const {
    if (!saw_first_byte_) {
        return "the server closed the connection without sending a response";
    }
    if (!head_complete_) {
        return "the server closed the connection before the end of the response headers";
    }
    return "the server closed the connection in the middle of the response body (" +
           std::to_string(body_bytes_) + " bytes read)";
}

void HttpResponseParser::finish() {
    if (state_ == State::Complete || state_ == State::Failed) {
        return;
    }
    const llhttp_errno_t err = llhttp_finish(&impl_->parser);
    if (state_ == State::Complete) {
        return;  // a close-delimited body: EOF was its end
    }
    (void)err;  // whatever llhttp says, the response is cut short
    fail(peer_closed_text(), false);
}

std::string HttpResponseParser::take_body() {
    return std::exchange(body_, {});
}

}  // namespace sonde::net

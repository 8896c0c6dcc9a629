#include "prober/net/http_client.hpp"

#include <utility>

#include <openssl/evp.h>
#include <uv.h>

#include "prober/core/uv_error.hpp"
#include "prober/net/http2_response_reader.hpp"

namespace sonde::net {
namespace {

constexpr std::size_t kMaxUnsentHttp2Bytes = 1024 * 1024;

std::string base64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// Go's Request.Write: a Content-Length is sent when there is a body, and also as 0 for the
// methods that are expected to carry one.
bool needs_content_length(const HttpClientRequest& request) {
    return !request.body.empty() || request.method == "POST" || request.method == "PUT" ||
           request.method == "PATCH";
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

std::string authority_of(const IpAddress& address, std::uint16_t port) {
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(port);
}

std::string proxy_authorization(const HttpProxyOptions& proxy) {
    return "Basic " + base64(*proxy.username + ":" + proxy.password);
}

}  // namespace

std::string_view http_error_kind_name(HttpErrorKind kind) {
    switch (kind) {
        case HttpErrorKind::Connect:
            return "connect";
        case HttpErrorKind::Proxy:
            return "proxy";
        case HttpErrorKind::Tls:
            return "tls";
        case HttpErrorKind::Protocol:
            return "protocol";
        case HttpErrorKind::HeadersTooLarge:
            return "headers too large";
        case HttpErrorKind::BodyTooLarge:
            return "body too large";
        case HttpErrorKind::PeerClosed:
            return "peer closed";
        case HttpErrorKind::Internal:
            return "internal";
    }
    return "unknown";
}

std::string encode_request(const HttpClientRequest& request, std::string_view absolute_prefix,
                           const HttpHeaders* extra_headers) {
    std::string out;
    out.reserve(256 + request.body.size());
    out.append(request.method).append(" ");
    out.append(absolute_prefix).append(request.target).append(" HTTP/1.1\r\n");
    // Host first, as Go writes it.
    if (const std::string* host = request.headers.find("Host")) {
        append_field(out, "Host", *host);
    }
    for (const auto& field : request.headers.fields()) {
        if (iequals(field.name, "Host") || iequals(field.name, "Content-Length") ||
            iequals(field.name, "Transfer-Encoding") || iequals(field.name, "Connection")) {
            continue;
        }
        append_field(out, field.name, field.value);
    }
    if (extra_headers != nullptr) {
        for (const auto& field : extra_headers->fields()) {
            append_field(out, field.name, field.value);
        }
    }
    if (needs_content_length(request)) {
        append_field(out, "Content-Length", std::to_string(request.body.size()));
    }
    append_field(out, "Connection", "close");
    out.append("\r\n");
    out.append(request.body);
    return out;
}

HttpExchange::HttpExchange(Loop& loop) : loop_(loop) {
}

// Members do the work: the TLS channel stops reading, the stream closes its socket (libuv
// runs the cancelled connect/write callbacks later, and they find the stream gone), and the
// Alive token makes any posted done a no-op.
HttpExchange::~HttpExchange() = default;

void HttpExchange::start(HttpExchangeOptions options, HttpClientRequest request, Done done) {
    options_ = std::move(options);
    request_ = std::move(request);
    done_ = std::move(done);
    times_.start_ns = uv_hrtime();
    if (!request_.headers.contains("Host")) {
        request_.headers.set("Host", authority_of(options_.address, options_.port));
    }
    stream_ = std::make_unique<TcpStream>(loop_);
    const IpAddress* source = options_.source ? &*options_.source : nullptr;
    auto started =
        stream_->connect(options_.address, options_.port, source,
                         [this](int status, std::uint64_t at_ns) { on_connected(status, at_ns); });
    if (!started) {
        finish(HttpError{HttpErrorKind::Internal, started.error()});
    }
}

void HttpExchange::on_connected(int status, std::uint64_t at_ns) {
    times_.connect_done_ns = at_ns;
    if (status != 0) {
        finish(HttpError{HttpErrorKind::Connect, "connect to " +
                                                     authority_of(options_.address, options_.port) +
                                                     ": " + uv_error_text(status)});
        return;
    }
    if (options_.proxy && options_.tls) {
        send_connect();
        return;
    }
    if (options_.tls) {
        start_tls({});
        return;
    }
    on_ready(at_ns);
}

void HttpExchange::send_connect() {
    const HttpProxyOptions& proxy = *options_.proxy;
    std::string out = "CONNECT " + proxy.authority + " HTTP/1.1\r\n";
    append_field(out, "Host", proxy.authority);
    if (proxy.username) {
        append_field(out, "Proxy-Authorization", proxy_authorization(proxy));
    }
    for (const auto& field : proxy.connect_headers.fields()) {
        append_field(out, field.name, field.value);
    }
    out.append("\r\n");
    HttpResponseLimits limits;
    limits.max_header_bytes = options_.limits.max_header_bytes;
    // A refusal's body is not read: the status is what the reason needs.
    limits.max_body_bytes = 64 * 1024;
    connect_parser_ = std::make_unique<HttpResponseParser>(limits, RequestKind::Connect);
    stream_->start_reading([this](std::string_view data) { on_connect_bytes(data); },
                           [this](int status) { on_connect_end(status); });
    stream_->write(std::move(out), [this](int status) { on_write_done(status); });
}

void HttpExchange::on_connect_bytes(std::string_view data) {
    if (finished_) {
        return;
    }
    HttpResponseParser& parser = *connect_parser_;
    const std::size_t used = parser.feed(data);
    const std::string where = "proxy CONNECT to " + options_.proxy->authority;
    if (parser.state() == HttpResponseParser::State::Failed) {
        finish(HttpError{HttpErrorKind::Proxy, where + ": " + parser.error()});
        return;
    }
    if (!parser.headers_done()) {
        return;
    }
    const HttpResponseHead& head = parser.head();
    if (head.status < 200 || head.status > 299) {
        std::string reason = where + ": the proxy answered " + std::to_string(head.status);
        if (!head.reason.empty()) {
            reason += " " + head.reason;
        }
        finish(HttpError{HttpErrorKind::Proxy, std::move(reason)});
        return;
    }
    times_.tunnel_done_ns = uv_hrtime();
    // Bytes after the proxy's answer already belong to the origin's TLS. The TLS channel takes
    // the stream's callbacks over, which must not happen inside the stream's own data callback
    // (it would destroy the std::function being run), so it starts from a posted task; reads
    // stop meanwhile so that no byte is lost.
    stream_->stop_reading();
    std::string leftover(data.substr(used));
    loop_.post(alive_, [this, leftover = std::move(leftover)]() mutable {
        if (!finished_) {
            start_tls(std::move(leftover));
        }
    });
}

void HttpExchange::on_connect_end(int status) {
    if (finished_) {
        return;
    }
    const std::string where = "proxy CONNECT to " + options_.proxy->authority;
    if (status == UV_EOF) {
        connect_parser_->finish();
        finish(HttpError{
            HttpErrorKind::Proxy,
            where + ": " +
                (connect_parser_->error().empty() ? std::string("the proxy closed the connection")
                                                  : connect_parser_->error())});
        return;
    }
    finish(HttpError{HttpErrorKind::Proxy, where + ": " + uv_error_text(status)});
}

void HttpExchange::start_tls(std::string leftover) {
    auto session = TlsSession::client(options_.tls, options_.server_name);
    if (!session) {
        finish(HttpError{HttpErrorKind::Tls, session.error()});
        return;
    }
    if (options_.http2 != Http2Mode::Off) {
        // Built once: this runs for every https probe.
        static const std::vector<std::string> kH2Only{"h2"};
        static const std::vector<std::string> kH2OrHttp11{"h2", "http/1.1"};
        const auto& offer = options_.http2 == Http2Mode::Required ? kH2Only : kH2OrHttp11;
        if (auto offered = session->offer_alpn(offer); !offered) {
            finish(HttpError{HttpErrorKind::Tls, offered.error()});
            return;
        }
    }
    tls_ = std::make_unique<TlsChannel>(*stream_, std::move(*session));
    times_.tls_start_ns = uv_hrtime();
    tls_->start([this](bool ok, std::uint64_t at_ns) { on_handshake(ok, at_ns); },
                [this](std::string_view plaintext) { on_response_bytes(plaintext, uv_hrtime()); },
                [this](const std::string& error) { on_response_end(error, uv_hrtime()); },
                leftover);
}

void HttpExchange::on_handshake(bool ok, std::uint64_t at_ns) {
    if (finished_) {
        return;
    }
    times_.tls_done_ns = at_ns;
    if (!ok) {
        finish(HttpError{HttpErrorKind::Tls, "TLS handshake: " + tls_->error()});
        return;
    }
    if (options_.http2 == Http2Mode::Required && tls_->session().alpn() != "h2") {
        finish(HttpError{HttpErrorKind::Protocol,
                         "the server did not select HTTP/2 (h2) by ALPN during the TLS handshake"});
        return;
    }
    on_ready(at_ns);
}

void HttpExchange::on_ready(std::uint64_t at_ns) {
    times_.conn_ready_ns = at_ns;
    const bool head = options_.head_request.value_or(request_.method == "HEAD");
    HttpResponseLimits limits;
    limits.max_header_bytes = options_.limits.max_header_bytes;
    // Streaming drains the body after every read, so nothing accumulates to cap.
    limits.max_body_bytes = options_.on_body_chunk ? 0 : options_.limits.max_body_bytes;
    if (!tls_ && options_.http2 == Http2Mode::Required && options_.proxy) {
        // An HTTP proxy takes plain requests in HTTP/1.1 absolute-form; h2c cannot go through.
        finish(HttpError{HttpErrorKind::Proxy,
                         "HTTP/2 with prior knowledge cannot go through an HTTP proxy"});
        return;
    }
    const bool http2 =
        tls_ ? tls_->session().alpn() == "h2" : options_.http2 == Http2Mode::Required;
    std::string bytes;
    if (http2) {
        auto reader = std::make_unique<Http2ResponseReader>(limits, head);
        Http2Request h2_request;
        h2_request.method = request_.method;
        h2_request.scheme = tls_ ? "https" : "http";
        h2_request.authority = *request_.headers.find("Host");
        h2_request.path = request_.target;
        h2_request.headers = request_.headers;
        h2_request.body = request_.body;
        h2_request.send_content_length = needs_content_length(request_);
        if (auto started = reader->start(h2_request); !started) {
            finish(HttpError{HttpErrorKind::Internal, started.error()});
            return;
        }
        bytes = reader->take_output();
        h2_ = reader.get();
        reader_ = std::move(reader);
    } else {
        reader_ = std::make_unique<HttpResponseParser>(
            limits, head ? RequestKind::Head : RequestKind::Normal);
        std::string prefix;
        HttpHeaders extra;
        if (options_.proxy && !options_.tls) {
            prefix = "http://" + options_.proxy->authority;
            if (options_.proxy->username) {
                extra.add("Proxy-Authorization", proxy_authorization(*options_.proxy));
            }
        }
        bytes = encode_request(request_, prefix, &extra);
    }
    if (tls_) {
        // TlsChannel already reads on our behalf and reports write failures as read errors.
        tls_->write(bytes);
        return;
    }
    stream_->start_reading(
        [this](std::string_view data) { on_response_bytes(data, uv_hrtime()); },
        [this](int status) {
            on_response_end(status == UV_EOF ? std::string() : uv_error_text(status), uv_hrtime());
        });
    stream_->write(std::move(bytes), [this](int status) { on_write_done(status); });
}

void HttpExchange::send_bytes(std::string bytes) {
    if (bytes.empty()) {
        return;
    }
    if (tls_) {
        tls_->write(bytes);
    } else {
        stream_->write(std::move(bytes), [this](int status) { on_write_done(status); });
    }
}

void HttpExchange::flush_http2() {
    if (h2_ != nullptr) {
        send_bytes(h2_->take_output());
    }
}

void HttpExchange::on_write_done(int status) {
    // A server may answer (413, 400) and close without reading the whole request, so a failed
    // write is only remembered; it explains a connection that then ends without a response.
    if (status != 0 && write_error_.empty()) {
        write_error_ = "writing the request: " + uv_error_text(status);
    }
}

void HttpExchange::on_response_bytes(std::string_view data, std::uint64_t at_ns) {
    if (finished_ || data.empty() || !reader_) {
        return;
    }
    if (times_.first_byte_ns == 0 && h2_ == nullptr) {
        times_.first_byte_ns = at_ns;
    }
    (void)reader_->feed(data);  // bytes after the final response are ignored: we close
    if (h2_ != nullptr) {
        // The server's SETTINGS come first; the response begins with its header block.
        if (times_.first_byte_ns == 0 && h2_->response_started()) {
            times_.first_byte_ns = at_ns;
        }
        flush_http2();
        // What the server's frames make us send (PING and SETTINGS acknowledgements) waits in
        // the write queue when the server does not read: bounded, not grown to the deadline.
        if (stream_->write_queue_bytes() > request_.body.size() + kMaxUnsentHttp2Bytes) {
            finish(HttpError{HttpErrorKind::Protocol,
                             "the server sends HTTP/2 frames but does not read the answers (over " +
                                 std::to_string(kMaxUnsentHttp2Bytes) + " bytes unsent)"});
            return;
        }
    }
    if (reader_->headers_done() && !head_reported_) {
        head_reported_ = true;
        response_.head = reader_->head();
        if (options_.on_head) {
            options_.on_head(response_.head);
            if (finished_) {
                return;  // the caller ended the exchange (end_early)
            }
        }
    }
    if (options_.on_body_chunk && !reader_->body().empty()) {
        const std::string chunk = reader_->take_body();
        options_.on_body_chunk(chunk);
        if (finished_) {
            return;  // the caller ended the exchange (end_early)
        }
    }
    if (reader_->state() == HttpResponseState::Failed) {
        fail_from_parser();
        return;
    }
    if (reader_->state() == HttpResponseState::Complete) {
        times_.body_done_ns = at_ns;
        finish(std::nullopt);
    }
}

void HttpExchange::on_response_end(const std::string& error, std::uint64_t at_ns) {
    if (finished_ || !reader_) {
        return;
    }
    if (!error.empty()) {
        std::string message = "reading the response: " + error;
        if (!write_error_.empty()) {
            message += " (" + write_error_ + ")";
        }
        finish(HttpError{HttpErrorKind::PeerClosed, std::move(message)});
        return;
    }
    reader_->finish();
    if (reader_->state() == HttpResponseState::Complete) {
        // A close-delimited body ends with the connection.
        if (!head_reported_) {
            head_reported_ = true;
            response_.head = reader_->head();
        }
        times_.body_done_ns = at_ns;
        finish(std::nullopt);
        return;
    }
    fail_from_parser();
}

void HttpExchange::fail_from_parser() {
    HttpErrorKind kind = HttpErrorKind::Protocol;
    if (reader_->failed_on_limit()) {
        kind =
            reader_->headers_done() ? HttpErrorKind::BodyTooLarge : HttpErrorKind::HeadersTooLarge;
    } else if (reader_->error().rfind("the server closed", 0) == 0) {
        kind = HttpErrorKind::PeerClosed;
    }
    std::string message = reader_->error();
    if (kind == HttpErrorKind::PeerClosed && !write_error_.empty()) {
        message += " (" + write_error_ + ")";
    }
    finish(HttpError{kind, std::move(message)});
}

void HttpExchange::end_early() {
    if (finished_) {
        return;
    }
    truncated_ = true;
    times_.body_done_ns = uv_hrtime();
    finish(std::nullopt);
}

void HttpExchange::finish(std::optional<HttpError> error) {
    finished_ = true;
    if (reader_) {
        if (!options_.on_body_chunk) {
            response_.body = reader_->take_body();
        }
        response_.body_bytes = reader_->body_bytes();
    }
    if (h2_ != nullptr) {
        response_.trailers = h2_->trailers();
        response_.trailers_received = h2_->trailers_received();
        response_.head_ended_stream = h2_->head_ended_stream();
        h2_->end_session();
        flush_http2();  // the GOAWAY that ends the session politely, if the socket still takes it
    }
    // Keep-alives are off: the connection is done either way. Closing (not destroying) keeps
    // the objects whose callbacks may be on the stack right now valid until we die.
    if (tls_) {
        tls_->stop();
    }
    if (stream_) {
        stream_->close();
    }
    loop_.post(alive_, [this, error = std::move(error)]() mutable {
        auto done = std::move(done_);
        done(std::move(error));
    });
}

}  // namespace sonde::net

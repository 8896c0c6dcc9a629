#include "tests/support/h2_test_server.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sonde::test {
namespace {

struct H2ReplyBody {
    std::string body;
    std::size_t sent = 0;
    H2Fields trailers;
};

// One connection's state, reached from nghttp2's callbacks through user_data.
struct H2Connection {
    H2TestServer* server = nullptr;
    const H2Handler* handler = nullptr;
    std::vector<H2TestRequest>* log = nullptr;
    std::mutex* log_mutex = nullptr;
    std::map<std::int32_t, H2TestRequest> streams;
    std::map<std::int32_t, std::unique_ptr<H2ReplyBody>> bodies;
};

std::vector<nghttp2_nv> h2_server_fields(const H2Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
        nva.push_back(
            {const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
             const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())),
             name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nva;
}

ssize_t h2_server_read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                            std::size_t length, std::uint32_t* data_flags,
                            nghttp2_data_source* source, void* /*user_data*/) {
    auto* reply = static_cast<H2ReplyBody*>(source->ptr);
    const std::size_t n = std::min(length, reply->body.size() - reply->sent);
    std::copy_n(reply->body.data() + reply->sent, n, buf);
    reply->sent += n;
    if (reply->sent == reply->body.size()) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!reply->trailers.empty()) {
            *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            const auto nva = h2_server_fields(reply->trailers);
            nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size());
        }
    }
    return static_cast<ssize_t>(n);
}

void h2_server_answer(nghttp2_session* session, H2Connection& conn, std::int32_t stream_id) {
    const H2TestRequest& request = conn.streams[stream_id];
    {
        std::lock_guard lock(*conn.log_mutex);
        conn.log->push_back(request);
    }
    const H2TestReply reply = (*conn.handler)(request);
    if (reply.stall) {
        return;
    }
    if (reply.reset_code != 0) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, reply.reset_code);
        return;
    }
    H2Fields head = {{":status", std::to_string(reply.status)}};
    head.insert(head.end(), reply.headers.begin(), reply.headers.end());
    const auto nva = h2_server_fields(head);
    if (reply.body.empty() && reply.trailers.empty()) {
        nghttp2_submit_response(session, stream_id, nva.data(), nva.size(), nullptr);
        return;
    }
    auto body = std::make_unique<H2ReplyBody>();
    body->body = reply.body;
    body->trailers = reply.trailers;
    nghttp2_data_provider provider{};
    provider.source.ptr = body.get();
    provider.read_callback = &h2_server_read_body;
    conn.bodies[stream_id] = std::move(body);
    nghttp2_submit_response(session, stream_id, nva.data(), nva.size(), &provider);
}

int h2_server_on_header(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                        const std::uint8_t* name, std::size_t name_len, const std::uint8_t* value,
                        std::size_t value_len, std::uint8_t /*flags*/, void* user_data) {
    auto& conn = *static_cast<H2Connection*>(user_data);
    H2TestRequest& request = conn.streams[frame->hd.stream_id];
    const std::string n(reinterpret_cast<const char*>(name), name_len);
    std::string v(reinterpret_cast<const char*>(value), value_len);
    if (n == ":method") {
        request.method = std::move(v);
    } else if (n == ":scheme") {
        request.scheme = std::move(v);
    } else if (n == ":authority") {
        request.authority = std::move(v);
    } else if (n == ":path") {
        request.path = std::move(v);
    } else {
        request.headers.emplace_back(n, std::move(v));
    }
    return 0;
}

int h2_server_on_data(nghttp2_session* /*session*/, std::uint8_t /*flags*/, std::int32_t stream_id,
                      const std::uint8_t* data, std::size_t len, void* user_data) {
    auto& conn = *static_cast<H2Connection*>(user_data);
    conn.streams[stream_id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
}

int h2_server_on_frame(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    auto& conn = *static_cast<H2Connection*>(user_data);
    const bool request_frame = frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA;
    if (request_frame && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
        h2_server_answer(session, conn, frame->hd.stream_id);
    }
    return 0;
}

int h2_server_select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_len,
                          const unsigned char* in, unsigned int in_len, void* arg) {
    const auto& allowed = *static_cast<const std::vector<std::string>*>(arg);
    // The server's preference order, as Go's and nginx's servers do.
    for (const auto& protocol : allowed) {
        for (unsigned int i = 0; i < in_len; i += 1U + in[i]) {
            if (in[i] == protocol.size() &&
                std::equal(protocol.begin(), protocol.end(), in + i + 1)) {
                *out = in + i + 1;
                *out_len = in[i];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string H2TestRequest::find(const std::string& name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

H2TestServer::H2TestServer(H2Handler handler, Options options)
    : handler_(std::move(handler)), options_(std::move(options)) {
    if (options_.tls) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        BIO* cert_bio =
            BIO_new_mem_buf(options_.cert_pem.data(), static_cast<int>(options_.cert_pem.size()));
        BIO* key_bio =
            BIO_new_mem_buf(options_.key_pem.data(), static_cast<int>(options_.key_pem.size()));
        X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
        EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
        const bool ok = cert != nullptr && key != nullptr &&
                        SSL_CTX_use_certificate(ctx, cert) == 1 &&
                        SSL_CTX_use_PrivateKey(ctx, key) == 1;
        X509_free(cert);
        EVP_PKEY_free(key);
        BIO_free(cert_bio);
        BIO_free(key_bio);
        if (!ok) {
            SSL_CTX_free(ctx);
            throw std::runtime_error("H2TestServer: bad certificate or key");
        }
        SSL_CTX_set_alpn_select_cb(ctx, &h2_server_select_alpn, &options_.alpn);
        ssl_ctx_ = ctx;
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("H2TestServer: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

H2TestServer::~H2TestServer() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (const int fd = conn_fd_.load(); fd >= 0) {
        ::shutdown(fd, SHUT_RDWR);
    }
    thread_.join();
    ::close(listen_fd_);
    SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::vector<H2TestRequest> H2TestServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

void H2TestServer::serve() {
    while (!stop_) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        conn_fd_ = fd;
        if (!stop_) {
            serve_connection(fd);
        }
        conn_fd_ = -1;
        ::close(fd);
    }
}

void H2TestServer::serve_connection(int fd) {
    SSL* ssl = nullptr;
    if (ssl_ctx_ != nullptr) {
        ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
            ERR_clear_error();
            SSL_free(ssl);
            return;
        }
    }
    auto write_all = [&](const std::uint8_t* data, std::size_t size) {
        while (size > 0) {
            const int n = ssl != nullptr ? SSL_write(ssl, data, static_cast<int>(size))
                                         : static_cast<int>(::send(fd, data, size, MSG_NOSIGNAL));
            if (n <= 0) {
                return false;
            }
            data += n;
            size -= static_cast<std::size_t>(n);
        }
        return true;
    };

    H2Connection conn;
    conn.server = this;
    conn.handler = &handler_;
    conn.log = &requests_;
    conn.log_mutex = &mutex_;
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &h2_server_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &h2_server_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &h2_server_on_frame);
    nghttp2_session* session = nullptr;
    nghttp2_session_server_new(&session, callbacks, &conn);
    nghttp2_session_callbacks_del(callbacks);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 1);

    std::uint8_t buf[16384];
    while (!stop_) {
        const std::uint8_t* out = nullptr;
        ssize_t n = 0;
        bool written = true;
        while (written && (n = nghttp2_session_mem_send(session, &out)) > 0) {
            written = write_all(out, static_cast<std::size_t>(n));
        }
        if (!written || n < 0 ||
            (nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0)) {
            break;
        }
        const int got = ssl != nullptr ? SSL_read(ssl, buf, sizeof buf)
                                       : static_cast<int>(::recv(fd, buf, sizeof buf, 0));
        if (got <= 0) {
            break;
        }
        if (nghttp2_session_mem_recv(session, buf, static_cast<std::size_t>(got)) < 0) {
            break;
        }
    }
    nghttp2_session_del(session);
    if (ssl != nullptr) {
        ERR_clear_error();
        SSL_free(ssl);
    }
}

}  // namespace sonde::test

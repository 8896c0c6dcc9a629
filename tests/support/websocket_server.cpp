#include "tests/support/websocket_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "modules/websocket/websocket_handshake.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::test {
namespace {

// Client frames in tests are small; the limit only keeps a broken client from eating memory.
constexpr std::size_t kWebsocketServerFrameLimit = 1024 * 1024;

}  // namespace

WebsocketServer::Conn::Conn(WebsocketServer& server, int fd, void* ssl)
    : server_(server),
      fd_(fd),
      ssl_(ssl),
      decoder_(modules::websocket::Sender::Client, kWebsocketServerFrameLimit) {
}

std::size_t WebsocketServer::Conn::receive(char* out, std::size_t max) {
    auto* ssl = static_cast<SSL*>(ssl_);
    while (!server_.stop_.load()) {
        if (ssl == nullptr || SSL_pending(ssl) == 0) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) {
                continue;
            }
        }
        if (ssl == nullptr) {
            const ssize_t n = ::recv(fd_, out, max, 0);
            return n > 0 ? static_cast<std::size_t>(n) : 0;
        }
        const int n = SSL_read(ssl, out, static_cast<int>(max));
        if (n > 0) {
            return static_cast<std::size_t>(n);
        }
        const int err = SSL_get_error(ssl, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            return 0;
        }
    }
    return 0;
}

bool WebsocketServer::Conn::fill() {
    char buf[16384];
    const std::size_t n = receive(buf, sizeof buf);
    if (n == 0) {
        return false;
    }
    in_.append(buf, n);
    return true;
}

std::string WebsocketServer::Conn::read_request() {
    for (;;) {
        const auto end = in_.find("\r\n\r\n");
        if (end != std::string::npos) {
            request_ = in_.substr(0, end + 4);
            in_.erase(0, end + 4);
            server_.record_request(request_);
            return request_;
        }
        if (!fill()) {
            return {};
        }
    }
}

std::string WebsocketServer::Conn::request_header(std::string_view name) const {
    std::size_t pos = request_.find("\r\n");
    while (pos != std::string::npos && pos + 2 < request_.size()) {
        const std::size_t start = pos + 2;
        const std::size_t end = request_.find("\r\n", start);
        const std::string_view line = std::string_view(request_).substr(start, end - start);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && net::iequals(line.substr(0, colon), name)) {
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            return std::string(value);
        }
        pos = end;
    }
    return {};
}

void WebsocketServer::Conn::accept_upgrade() {
    write_raw(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        modules::websocket::websocket_accept(request_header("Sec-WebSocket-Key")) + "\r\n\r\n");
}

bool WebsocketServer::Conn::upgrade() {
    if (read_request().empty()) {
        return false;
    }
    accept_upgrade();
    return true;
}

void WebsocketServer::Conn::write_raw(std::string_view bytes) {
    auto* ssl = static_cast<SSL*>(ssl_);
    while (!bytes.empty()) {
        if (ssl != nullptr) {
            const int n = SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size()));
            if (n <= 0) {
                return;
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        } else {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return;
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
}

void WebsocketServer::Conn::send_frame(modules::websocket::Opcode opcode, std::string_view payload,
                                       bool fin) {
    write_raw(modules::websocket::encode_frame(opcode, payload, std::nullopt, fin));
}

std::optional<modules::websocket::Frame> WebsocketServer::Conn::read_frame() {
    for (;;) {
        if (!in_.empty()) {
            decoder_.feed(in_);
            in_.clear();
        }
        auto frame = decoder_.next();
        if (!frame) {
            return std::nullopt;
        }
        if (*frame) {
            return std::move(**frame);
        }
        if (!fill()) {
            return std::nullopt;
        }
    }
}

bool WebsocketServer::Conn::ping_answered(std::string_view payload) {
    send_frame(modules::websocket::Opcode::Ping, payload);
    auto pong = read_frame();
    return pong && pong->opcode == modules::websocket::Opcode::Pong && pong->payload == payload;
}

std::optional<std::string> WebsocketServer::Conn::read_message() {
    modules::websocket::MessageAssembler assembler(kWebsocketServerFrameLimit);
    for (;;) {
        auto frame = read_frame();
        if (!frame) {
            return std::nullopt;
        }
        auto event = assembler.add(std::move(*frame));
        if (!event) {
            return std::nullopt;
        }
        if (!*event) {
            continue;
        }
        switch ((*event)->kind) {
            case modules::websocket::Event::Kind::Message:
                server_.record_message((*event)->data);
                return std::move((*event)->data);
            case modules::websocket::Event::Kind::Close:
                return std::nullopt;
            case modules::websocket::Event::Kind::Ping:
            case modules::websocket::Event::Kind::Pong:
                break;
        }
    }
}

void WebsocketServer::Conn::drain() {
    while (fill()) {
        in_.clear();
    }
}

WebsocketServer::Script WebsocketServer::echo() {
    return [](Conn& conn) {
        if (!conn.upgrade()) {
            return;
        }
        while (auto message = conn.read_message()) {
            conn.send_text(*message);
        }
    };
}

WebsocketServer::WebsocketServer(Script script, std::shared_ptr<const net::TlsServerContext> tls)
    : script_(std::move(script)), tls_(std::move(tls)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        return;  // port() stays 0 and the test's probes fail to connect
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

WebsocketServer::~WebsocketServer() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
    }
}

std::string WebsocketServer::url(const std::string& path) const {
    return (tls_ ? "wss://localhost:" : "ws://127.0.0.1:") + std::to_string(port_) + path;
}

void WebsocketServer::serve() {
    while (!stop_.load()) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
            continue;
        }
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        ++connections_;
        SSL* ssl = nullptr;
        bool ready = true;
        // Reads wait at most 50 ms, so that a handshake or a read with a silent peer still
        // sees the stop flag.
        timeval wait{0, 50000};
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        if (tls_) {
            ssl = SSL_new(tls_->native());
            SSL_set_fd(ssl, fd);
            int rc = 0;
            while ((rc = SSL_accept(ssl)) != 1 && !stop_.load() &&
                   SSL_get_error(ssl, rc) == SSL_ERROR_WANT_READ) {
            }
            ready = rc == 1;
        }
        if (ready) {
            Conn conn(*this, fd, ssl);
            script_(conn);
        }
        if (ssl != nullptr) {
            SSL_free(ssl);
        }
        ::close(fd);
    }
}

void WebsocketServer::record_request(std::string head) {
    const std::lock_guard lock(mutex_);
    requests_.push_back(std::move(head));
}

void WebsocketServer::record_message(std::string message) {
    const std::lock_guard lock(mutex_);
    messages_.push_back(std::move(message));
}

std::vector<std::string> WebsocketServer::requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
}

std::vector<std::string> WebsocketServer::messages() const {
    const std::lock_guard lock(mutex_);
    return messages_;
}

}  // namespace sonde::test

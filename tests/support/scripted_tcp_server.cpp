#include "tests/support/scripted_tcp_server.hpp"

#include <cstring>

#include <catch2/catch.hpp>

namespace sonde::test {

ScriptedTcpServer::ScriptedTcpServer(Loop& loop, std::string greeting, OnLine on_line,
                                     const char* bind_ip)
    : loop_(loop), greeting_(std::move(greeting)), on_line_(std::move(on_line)), bind_ip_(bind_ip) {
    REQUIRE(listener_.init(this, [&](uv_tcp_t* t) { return uv_tcp_init(loop_.raw(), t); }) == 0);
    sockaddr_storage addr{};
    const bool v6 = std::strchr(bind_ip, ':') != nullptr;
    if (v6) {
        REQUIRE(uv_ip6_addr(bind_ip, 0, reinterpret_cast<sockaddr_in6*>(&addr)) == 0);
    } else {
        REQUIRE(uv_ip4_addr(bind_ip, 0, reinterpret_cast<sockaddr_in*>(&addr)) == 0);
    }
    REQUIRE(uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), 0) == 0);
    REQUIRE(uv_listen(listener_.as_stream(), 128, &ScriptedTcpServer::on_connection) == 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    REQUIRE(uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

ScriptedTcpServer::~ScriptedTcpServer() {
    stop();
}

void ScriptedTcpServer::stop() {
    listener_.reset();
    connections_.clear();
}

std::string ScriptedTcpServer::address() const {
    const std::string host =
        bind_ip_.find(':') != std::string::npos ? "[" + bind_ip_ + "]" : bind_ip_;
    return host + ":" + std::to_string(port_);
}

void ScriptedTcpServer::Connection::write(std::string data) {
    if (tls) {
        tls->write(data);
    } else {
        stream->write(std::move(data));
    }
}

void ScriptedTcpServer::Connection::close() {
    if (tls) {
        tls->stop();
    }
    stream->close();
}

void ScriptedTcpServer::Connection::upgrade_to_tls() {
    ScriptedTcpServer* owner = server;
    owner->loop_.post(owner->alive_, [owner, this] { owner->start_tls(*this); });
}

void ScriptedTcpServer::on_connection(uv_stream_t* server, int status) noexcept {
    auto* self = owner_of<ScriptedTcpServer>(server);
    if (self == nullptr || status != 0) {
        return;
    }
    auto connection = std::make_unique<Connection>();
    connection->server = self;
    connection->stream = std::make_unique<net::TcpStream>(self->loop_);
    if (!connection->stream->accept_from(server)) {
        return;
    }
    ++self->accepted_;
    Connection* conn = connection.get();
    self->connections_.push_back(std::move(connection));
    if (self->tls_from_start_) {
        self->start_tls(*conn);
        return;
    }
    self->greet(*conn);
    conn->stream->start_reading(
        [self, conn](std::string_view data) { self->on_plaintext(*conn, data); },
        [conn](int) { conn->close(); });
}

void ScriptedTcpServer::greet(Connection& conn) {
    std::string greeting = greeting_;
    if (greet_with_peer_) {
        greeting += conn.stream->peer_name() + "\n";
    }
    if (!greeting.empty()) {
        conn.write(std::move(greeting));
    }
    if (close_after_greeting_) {
        conn.stream->shutdown_write();
    }
}

void ScriptedTcpServer::start_tls(Connection& conn) {
    auto session = net::TlsSession::server(tls_);
    REQUIRE(session.has_value());
    conn.tls = std::make_unique<net::TlsChannel>(*conn.stream, std::move(*session));
    const bool greet_after = tls_from_start_;
    conn.tls->start(
        [this, &conn, greet_after](bool ok, std::uint64_t) {
            if (!ok) {
                conn.tls_failed = true;
                conn.stream->close();
                return;
            }
            ++tls_handshakes_;
            if (greet_after) {
                greet(conn);
            }
        },
        [this, &conn](std::string_view data) { on_plaintext(conn, data); },
        [&conn](const std::string&) { conn.stream->close(); });
}

void ScriptedTcpServer::on_plaintext(Connection& conn, std::string_view data) {
    if (on_bytes_) {
        on_bytes_(conn, data);
        return;
    }
    conn.pending.append(data);
    for (auto nl = conn.pending.find('\n'); nl != std::string::npos; nl = conn.pending.find('\n')) {
        std::string line = conn.pending.substr(0, nl);
        conn.pending.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        lines_.push_back(line);
        if (on_line_) {
            on_line_(conn, line);
        }
    }
}

}  // namespace sonde::test

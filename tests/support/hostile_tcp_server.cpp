#include "tests/support/hostile_tcp_server.hpp"

#include <utility>

#include <catch2/catch.hpp>

namespace sonde::test {
namespace {

// Backlog for the listener: the resource tests connect a thousand probes at once, and a SYN
// dropped on a full accept queue would only be retried after a second.
constexpr int kBacklog = 4096;

}  // namespace

HostileTcpServer::HostileTcpServer(Loop& loop, HostileOptions options)
    : loop_(loop), options_(std::move(options)) {
    REQUIRE(listener_.init(this, [&](uv_tcp_t* t) { return uv_tcp_init(loop_.raw(), t); }) == 0);
    sockaddr_in addr{};
    REQUIRE(uv_ip4_addr("127.0.0.1", 0, &addr) == 0);
    REQUIRE(uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), 0) == 0);
    REQUIRE(uv_listen(listener_.as_stream(), kBacklog, &HostileTcpServer::on_connection) == 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    REQUIRE(uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    if (options_.behaviour == Hostility::TlsStall) {
        REQUIRE(options_.tls != nullptr);
    }
}

HostileTcpServer::~HostileTcpServer() {
    listener_.reset();
    connections_.clear();
}

void HostileTcpServer::on_connection(uv_stream_t* server, int status) noexcept {
    auto* self = owner_of<HostileTcpServer>(server);
    if (self == nullptr || status != 0) {
        return;
    }
    auto owned = std::make_unique<Connection>();
    Connection* conn = owned.get();
    conn->server = self;
    conn->stream = std::make_unique<net::TcpStream>(self->loop_);
    if (!conn->stream->accept_from(server)) {
        return;
    }
    ++self->accepted_;
    self->connections_.emplace(conn, std::move(owned));
    conn->stream->start_reading([self, conn](std::string_view data) { self->on_data(*conn, data); },
                                [self, conn](int) { self->forget(*conn); });
    if (self->options_.behaviour == Hostility::Drip) {
        self->start_ticking(*conn, true);
    }
}

void HostileTcpServer::on_data(Connection& conn, std::string_view data) {
    switch (options_.behaviour) {
        case Hostility::Silent:
        case Hostility::Drip:
            return;
        case Hostility::EndlessHeaders:
            if (!conn.started) {
                conn.started = true;
                send(conn, "HTTP/1.1 200 OK\r\n");
                start_ticking(conn, false);
            }
            return;
        case Hostility::EndlessBody:
            if (!conn.started) {
                conn.started = true;
                send(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                start_ticking(conn, false);
            }
            return;
        case Hostility::TlsStall:
            if (conn.started) {
                return;  // the rest of the handshake never comes
            }
            if (!conn.tls) {
                auto session = net::TlsSession::server(options_.tls);
                if (!session) {
                    forget(conn);
                    return;
                }
                conn.tls.emplace(std::move(*session));
            }
            conn.tls->feed(data);
            (void)conn.tls->step();
            if (conn.tls->has_output()) {
                std::string flight = conn.tls->take_output();
                flight.resize(flight.size() / 2);
                conn.started = true;
                ++stalled_handshakes_;
                send(conn, std::move(flight));
            }
            return;
    }
}

void HostileTcpServer::start_ticking(Connection& conn, bool write_now) {
    if (conn.timer.init(&conn, [&](uv_timer_t* t) { return uv_timer_init(loop_.raw(), t); }) != 0) {
        forget(conn);
        return;
    }
    uv_timer_start(conn.timer.get(), &HostileTcpServer::on_tick, options_.interval_ms,
                   options_.interval_ms);
    if (write_now) {
        tick(conn);
    }
}

void HostileTcpServer::on_tick(uv_timer_t* timer) noexcept {
    // The timer reaches the server through the connection it belongs to.
    auto* conn = owner_of<Connection>(timer);
    if (conn == nullptr) {
        return;
    }
    conn->server->tick(*conn);
}

void HostileTcpServer::tick(Connection& conn) {
    switch (options_.behaviour) {
        case Hostility::Drip:
            if (conn.next < options_.script.size()) {
                send(conn, options_.script.substr(conn.next++, 1));
            }
            return;
        case Hostility::EndlessHeaders:
            send(conn, "X-Slow-" + std::to_string(++conn.next) + ": still coming\r\n");
            return;
        case Hostility::EndlessBody:
            ++conn.next;
            send(conn, "5\r\nmore!\r\n");
            return;
        case Hostility::Silent:
        case Hostility::TlsStall:
            return;
    }
}

void HostileTcpServer::send(Connection& conn, std::string data) {
    const auto size = data.size();
    conn.stream->write(std::move(data), [this, &conn, size](int status) {
        if (status != 0) {
            forget(conn);
            return;
        }
        written_ += size;
    });
}

void HostileTcpServer::forget(Connection& conn) {
    const auto it = connections_.find(&conn);
    if (it == connections_.end()) {
        return;
    }
    auto owned = std::move(it->second);
    connections_.erase(it);
    // Called from the stream's own callbacks: close now, free later.
    conn.stream->close();
    conn.timer.reset();
    loop_.defer_delete(std::move(owned));
}

}  // namespace sonde::test

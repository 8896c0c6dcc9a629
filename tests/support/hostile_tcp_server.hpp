#pragma once

// HostileTcpServer: a TCP peer that misbehaves on purpose, for tests that prove a probe ends by
// its deadline with a reason whatever the peer does. On the test's own loop, bound to 127.0.0.1
// port 0. Behaviours:
//
//   Silent          accepts, reads and discards everything, never writes.
//   Drip            writes `script` one byte per `interval_ms`, from the moment it accepts
//                   (slowloris; the script is never finished within a short deadline).
//   EndlessHeaders  once the peer sent anything, writes an HTTP status line and then one more
//                   header line every `interval_ms`, forever.
//   EndlessBody     once the peer sent anything, writes a chunked HTTP head and then one more
//                   chunk every `interval_ms`, forever.
//   TlsStall        speaks TLS as a server (the given context) until its first flight is ready,
//                   sends only the first half of it and then nothing more: the client is left
//                   mid-handshake with a ServerHello and no Finished.
//
// Unlike ScriptedTcpServer it forgets a connection as soon as the peer goes away, so that
// thousands of probes leave nothing behind (the resource tests count descriptors).
//
// Ownership: the test owns it; destroying it closes the listener and every connection at once.
// Loop affinity: the Loop's thread only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_context.hpp"
#include "prober/net/tls_session.hpp"

namespace sonde::test {

enum class Hostility { Silent, Drip, EndlessHeaders, EndlessBody, TlsStall };

struct HostileOptions {
    HostileOptions(Hostility b = Hostility::Silent) : behaviour(b) {}  // NOLINT: implicit

    Hostility behaviour;
    std::uint64_t interval_ms = 1000;  // Drip, EndlessHeaders, EndlessBody
    std::string script = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";  // Drip
    std::shared_ptr<const net::TlsServerContext> tls;                       // TlsStall
};

class HostileTcpServer {
public:
    HostileTcpServer(Loop& loop, HostileOptions options);
    ~HostileTcpServer();
    HostileTcpServer(const HostileTcpServer&) = delete;
    HostileTcpServer& operator=(const HostileTcpServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::uint64_t accepted() const { return accepted_; }
    // Connections whose peer has not gone away yet.
    std::size_t open_connections() const { return connections_.size(); }
    // Bytes the server handed to the kernel, over all connections.
    std::uint64_t written() const { return written_; }
    // TlsStall: connections that got their half flight.
    std::uint64_t stalled_handshakes() const { return stalled_handshakes_; }

private:
    struct Connection {
        HostileTcpServer* server = nullptr;
        std::unique_ptr<net::TcpStream> stream;
        UvHandle<uv_timer_t> timer;
        std::optional<net::TlsSession> tls;
        std::size_t next = 0;  // Drip: the next script byte; Endless*: the next line number
        bool started = false;
    };

    static void on_connection(uv_stream_t* server, int status) noexcept;
    static void on_tick(uv_timer_t* timer) noexcept;
    void on_data(Connection& conn, std::string_view data);
    void start_ticking(Connection& conn, bool write_now);
    void tick(Connection& conn);
    void send(Connection& conn, std::string data);
    void forget(Connection& conn);

    Loop& loop_;
    HostileOptions options_;
    UvHandle<uv_tcp_t> listener_;
    std::uint16_t port_ = 0;
    std::uint64_t accepted_ = 0;
    std::uint64_t written_ = 0;
    std::uint64_t stalled_handshakes_ = 0;
    std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
};

}  // namespace sonde::test

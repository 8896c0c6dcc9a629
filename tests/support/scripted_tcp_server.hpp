#pragma once

// ScriptedTcpServer: a line-protocol TCP server for tests, on the test's own loop, bound to a
// loopback address with port 0. Each accepted connection gets the greeting, then every
// received line (without \r\n) goes to on_line, which may reply or close. With no greeting and
// no on_line it accepts and never speaks: the peer a probe must time out on.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"
#include "prober/net/tls_context.hpp"

namespace sonde::test {

class ScriptedTcpServer {
public:
    // Reply with write(); close the connection with close().
    struct Connection {
        ScriptedTcpServer* server = nullptr;
        std::unique_ptr<net::TcpStream> stream;
        std::unique_ptr<net::TlsChannel> tls;  // set once the connection speaks TLS
        std::string pending;
        bool tls_failed = false;

        void write(std::string data);
        void close();
        // Switches to TLS (server side) after the current callback: the STARTTLS reply must
        // already have been written in plaintext.
        void upgrade_to_tls();
    };
    using OnLine = std::function<void(Connection&, std::string_view line)>;

    ScriptedTcpServer(Loop& loop, std::string greeting = {}, OnLine on_line = {},
                      const char* bind_ip = "127.0.0.1");

    // Binary protocols: every plaintext chunk goes to on_bytes as received, instead of being
    // split into lines for on_line.
    using OnBytes = std::function<void(Connection&, std::string_view bytes)>;
    void on_bytes(OnBytes handler) { on_bytes_ = std::move(handler); }

    // Half-closes each connection right after the greeting: the peer reads it, then EOF.
    void close_after_greeting() { close_after_greeting_ = true; }
    // Speaks TLS from the first byte with this certificate.
    void use_tls(std::shared_ptr<const net::TlsServerContext> context) {
        tls_ = std::move(context);
        tls_from_start_ = true;
    }
    // The context used for TLS and STARTTLS upgrades.
    void set_tls_context(std::shared_ptr<const net::TlsServerContext> context) {
        tls_ = std::move(context);
    }
    int tls_handshakes() const { return tls_handshakes_; }

    // Appends the peer's "ip:port" and "\n" to the greeting (tests of source addresses).
    void greet_with_peer_address() { greet_with_peer_ = true; }
    ~ScriptedTcpServer();
    ScriptedTcpServer(const ScriptedTcpServer&) = delete;
    ScriptedTcpServer& operator=(const ScriptedTcpServer&) = delete;

    std::uint16_t port() const { return port_; }
    // "127.0.0.1:port" or "[::1]:port"
    std::string address() const;
    int accepted() const { return accepted_; }
    const std::vector<std::string>& lines() const { return lines_; }
    // Closes the listener and every connection now.
    void stop();

private:
    static void on_connection(uv_stream_t* server, int status) noexcept;
    void on_plaintext(Connection& conn, std::string_view data);
    void start_tls(Connection& conn);
    void greet(Connection& conn);

    Loop& loop_;
    std::string greeting_;
    OnLine on_line_;
    OnBytes on_bytes_;
    std::string bind_ip_;
    UvHandle<uv_tcp_t> listener_;
    std::uint16_t port_ = 0;
    int accepted_ = 0;
    bool close_after_greeting_ = false;
    bool greet_with_peer_ = false;
    bool tls_from_start_ = false;
    int tls_handshakes_ = 0;
    std::shared_ptr<const net::TlsServerContext> tls_;
    std::vector<std::string> lines_;
    std::vector<std::unique_ptr<Connection>> connections_;
    Alive alive_;
};

}  // namespace sonde::test

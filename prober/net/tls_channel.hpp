#pragma once

// TlsChannel: TLS over a connected TcpStream — the glue between the byte-driven TlsSession and
// the socket, shared by every prober that speaks TLS (tcp `tls`/`starttls`, later http, DNS
// over TLS) and by tests' loopback TLS servers.
//
// Ownership: the owner keeps both the TcpStream and the TlsChannel and destroys the channel
// first (or together); the channel takes over the stream's read callbacks. Callbacks run on
// the loop from inside the stream's callbacks; an owner that wants to destroy the channel in
// one must defer the deletion. After on_end or a failed handshake nothing more is delivered.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_session.hpp"

namespace sonde::net {

class TlsChannel {
public:
    // ok: the handshake completed; otherwise error() says why. at_ns: uv_hrtime() when the
    // bytes that completed (or broke) it arrived.
    using HandshakeCallback = std::function<void(bool ok, std::uint64_t at_ns)>;
    using DataCallback = std::function<void(std::string_view plaintext)>;
    // The stream ended; error empty for an orderly close (close_notify or EOF).
    using EndCallback = std::function<void(const std::string& error)>;

    TlsChannel(TcpStream& stream, TlsSession session);
    ~TlsChannel();
    TlsChannel(const TlsChannel&) = delete;
    TlsChannel& operator=(const TlsChannel&) = delete;

    // Starts reading from the stream and sends the first flight (client) or waits for it
    // (server). Bytes already received for this connection (leftovers) are fed first.
    void start(HandshakeCallback on_handshake, DataCallback on_data, EndCallback on_end,
               std::string_view leftover = {});

    // Delivers nothing more: the owner is done with the conversation.
    void stop();

    // Encrypts and sends plaintext (after the handshake).
    void write(std::string_view plaintext);
    // Sends close_notify (after the handshake); the stream's when_flushed() tells when it left.
    void close_notify();

    const TlsSession& session() const { return session_; }
    // Why the handshake or the stream failed: the TLS error, else the socket's.
    const std::string& error() const {
        return session_.error().empty() ? transport_error_ : session_.error();
    }

private:
    void on_bytes(std::string_view ciphertext, std::uint64_t at_ns);
    void on_stream_end(int status);
    void flush();
    void deliver_plaintext();

    TcpStream& stream_;
    TlsSession session_;
    HandshakeCallback on_handshake_;
    DataCallback on_data_;
    EndCallback on_end_;
    std::string transport_error_;
    bool handshake_reported_ = false;
    bool ended_ = false;
};

}  // namespace sonde::net

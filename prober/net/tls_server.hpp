#pragma once

// ServerStream: the byte stream of one accepted connection of sonde's HTTP server, either a
// plain TcpStream or TLS over it (a server-side TlsSession fed from the socket). It offers the
// part of TcpStream's interface the server uses, so the HTTP code does not care which it is.
//
// Ownership: the server's session owns the ServerStream by value and destroys it (closing the
// socket) at any time, also mid-handshake; no callback runs afterwards. Loop thread only.
//
// The handshake never blocks the loop: bytes are fed to OpenSSL as they arrive and its output
// is written as it is produced. Its duration is bounded by the owner's timer (the server's
// tls_handshake_timeout_ms).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_session.hpp"

namespace sonde::net {

class ServerStream {
public:
    using DataCallback = TcpStream::DataCallback;
    // UV_EOF for an orderly end (FIN, or close_notify over TLS), UV_EPROTO for a TLS error
    // after the handshake, else the libuv error.
    using EndCallback = TcpStream::EndCallback;
    using WriteCallback = TcpStream::WriteCallback;
    // Runs once per TLS connection: true when the handshake completed, false when it failed
    // (tls_error() says why); after a failure nothing more is delivered.
    using HandshakeCallback = std::function<void(bool ok)>;

    explicit ServerStream(Loop& loop) : tcp_(loop) {}
    ServerStream(const ServerStream&) = delete;
    ServerStream& operator=(const ServerStream&) = delete;

    Result<void> accept_from(uv_stream_t* listener) { return tcp_.accept_from(listener); }
    // Before start_reading: speak TLS with the client, as its server.
    [[nodiscard]] Result<void> use_tls(std::shared_ptr<const TlsServerContext> context,
                                       HandshakeCallback on_handshake);
    bool secure() const { return tls_.has_value(); }
    // Why the TLS handshake or stream failed ("" when it did not).
    std::string tls_error() const { return tls_ ? tls_->error() : std::string(); }

    // Plaintext as it arrives (after the handshake, over TLS).
    void start_reading(DataCallback on_data, EndCallback on_end);
    void stop_reading();
    // done runs once the bytes (encrypted, over TLS) were handed to the kernel, or failed.
    void write(std::string data, WriteCallback done = {});
    // Sends close_notify (TLS), then half-closes after the queued writes.
    void shutdown_write();
    void close();
    std::string peer_name() const { return tcp_.peer_name(); }

private:
    void on_ciphertext(std::string_view bytes);
    void on_tcp_end(int status);
    void handshake_over(bool ok);
    // Delivers the plaintext the session holds; false when the stream ended or was closed.
    bool deliver();
    void flush();

    TcpStream tcp_;
    std::optional<TlsSession> tls_;
    HandshakeCallback on_handshake_;
    DataCallback on_data_;
    EndCallback on_end_;
    bool handshake_done_ = false;
    bool ended_ = false;
    // Set by close(): a callback that closed the stream must find it untouched on return.
    std::shared_ptr<bool> closed_ = std::make_shared<bool>(false);
};

}  // namespace sonde::net

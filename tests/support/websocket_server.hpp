#pragma once

// WebsocketServer: a websocket server for tests, on its own thread, bound to 127.0.0.1 port 0,
// plain (ws://) or TLS (wss://). Each accepted connection runs the test's script, written as
// straight-line blocking code on a Conn: read the upgrade request, answer it (properly or not),
// then exchange frames. The default script is an echo server. Connections are served one after
// the other.
//
// Ownership: the test owns it; the destructor stops the thread (reads poll a stop flag every
// 50 ms, so a script blocked on a silent peer ends too). What the server saw is kept for the
// test to read once the probe is over (requests(), messages()), under a lock.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "modules/websocket/websocket_frame.hpp"
#include "prober/net/tls_context.hpp"

namespace sonde::test {

class WebsocketServer {
public:
    class Conn {
    public:
        // The request head up to its blank line ("" when the peer left first).
        std::string read_request();
        // The value of a header of the last request ("" when absent).
        std::string request_header(std::string_view name) const;
        // 101 Switching Protocols with the right Sec-WebSocket-Accept for the last request.
        void accept_upgrade();
        // read_request() then accept_upgrade(); false when the client left first.
        bool upgrade();
        void write_raw(std::string_view bytes);
        void send_frame(modules::websocket::Opcode opcode, std::string_view payload,
                        bool fin = true);
        void send_text(std::string_view text) {
            send_frame(modules::websocket::Opcode::Text, text);
        }
        // The next frame from the client (unmasked), nullopt on EOF or a protocol error.
        std::optional<modules::websocket::Frame> read_frame();
        // Sends a ping and reads the next frame: true when it is the pong with the same payload.
        bool ping_answered(std::string_view payload);
        // The next text or binary message (fragments joined; pongs skipped), nullopt when the
        // client closed or left. Recorded in messages().
        std::optional<std::string> read_message();
        // Reads and drops everything until the client leaves (or the server stops).
        void drain();

        // Internal: built by the server for each connection.
        Conn(WebsocketServer& server, int fd, void* ssl);

    private:
        // Up to `max` bytes, blocking; 0 on EOF, error or stop.
        std::size_t receive(char* out, std::size_t max);
        bool fill();  // appends received bytes to in_; false on EOF

        WebsocketServer& server_;
        int fd_;
        void* ssl_;  // SSL*, null for plain
        std::string in_;
        std::string request_;
        modules::websocket::FrameDecoder decoder_;
    };
    using Script = std::function<void(Conn&)>;

    // The echo script: accept the upgrade, send each message back, until the client leaves.
    static Script echo();

    explicit WebsocketServer(Script script = echo(),
                             std::shared_ptr<const net::TlsServerContext> tls = nullptr);
    ~WebsocketServer();
    WebsocketServer(const WebsocketServer&) = delete;
    WebsocketServer& operator=(const WebsocketServer&) = delete;

    std::uint16_t port() const { return port_; }
    // "ws://127.0.0.1:<port><path>", or "wss://localhost:<port><path>" with TLS.
    std::string url(const std::string& path = "/") const;

    std::vector<std::string> requests() const;
    std::vector<std::string> messages() const;
    int connections() const { return connections_.load(); }

private:
    void serve();
    void record_request(std::string head);
    void record_message(std::string message);

    Script script_;
    std::shared_ptr<const net::TlsServerContext> tls_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
    std::vector<std::string> messages_;
    std::thread thread_;
};

}  // namespace sonde::test

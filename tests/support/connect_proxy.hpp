#pragma once

// ConnectProxy: a tiny HTTP proxy for tests, on the test's loop, bound to 127.0.0.1 port 0.
// It reads one request head per connection and records it, then either
//  - answers CONNECT with refuse_status (when set), or with 200 and pipes bytes both ways to
//    127.0.0.1:<the port in the CONNECT authority>; or
//  - forwards an absolute-form request (GET http://host:port/...) as it came to
//    127.0.0.1:<port> and pipes the answer back.
// Good enough to test a client's proxy code; not a proxy anyone should run.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/tcp_stream.hpp"

namespace sonde::test {

class ConnectProxy {
public:
    explicit ConnectProxy(Loop& loop);
    ~ConnectProxy();
    ConnectProxy(const ConnectProxy&) = delete;
    ConnectProxy& operator=(const ConnectProxy&) = delete;

    std::uint16_t port() const { return port_; }
    // Answer every CONNECT with this status line instead, e.g. "407 Proxy Authentication
    // Required"; empty: tunnel.
    void refuse_with(std::string status_line) { refuse_status_ = std::move(status_line); }
    // Each request head received, request line and headers, as sent.
    const std::vector<std::string>& heads() const { return heads_; }
    int tunnels() const { return tunnels_; }

private:
    struct Pipe;
    static void on_connection(uv_stream_t* server, int status) noexcept;
    void on_client_bytes(Pipe& pipe, std::string_view data);
    void open_upstream(Pipe& pipe, std::uint16_t port, std::string first_bytes, bool tunnel);

    Loop& loop_;
    UvHandle<uv_tcp_t> listener_;
    std::uint16_t port_ = 0;
    std::string refuse_status_;
    std::vector<std::string> heads_;
    int tunnels_ = 0;
    std::vector<std::unique_ptr<Pipe>> pipes_;
};

}  // namespace sonde::test

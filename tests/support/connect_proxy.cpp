#include "tests/support/connect_proxy.hpp"

#include <catch2/catch.hpp>

namespace sonde::test {

struct ConnectProxy::Pipe {
    std::unique_ptr<net::TcpStream> client;
    std::unique_ptr<net::TcpStream> upstream;
    std::string head;  // bytes until the end of the request head
    bool head_done = false;

    void close() {
        client->close();
        if (upstream) {
            upstream->close();
        }
    }
};

ConnectProxy::ConnectProxy(Loop& loop) : loop_(loop) {
    REQUIRE(listener_.init(this, [&](uv_tcp_t* t) { return uv_tcp_init(loop_.raw(), t); }) == 0);
    sockaddr_in addr{};
    REQUIRE(uv_ip4_addr("127.0.0.1", 0, &addr) == 0);
    REQUIRE(uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), 0) == 0);
    REQUIRE(uv_listen(listener_.as_stream(), 16, &ConnectProxy::on_connection) == 0);
    sockaddr_in bound{};
    int len = sizeof bound;
    REQUIRE(uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    port_ = ntohs(bound.sin_port);
}

ConnectProxy::~ConnectProxy() {
    listener_.reset();
    pipes_.clear();
}

void ConnectProxy::on_connection(uv_stream_t* server, int status) noexcept {
    auto* self = owner_of<ConnectProxy>(server);
    if (self == nullptr || status != 0) {
        return;
    }
    auto pipe = std::make_unique<Pipe>();
    pipe->client = std::make_unique<net::TcpStream>(self->loop_);
    if (!pipe->client->accept_from(server)) {
        return;
    }
    Pipe* p = pipe.get();
    self->pipes_.push_back(std::move(pipe));
    p->client->start_reading([self, p](std::string_view data) { self->on_client_bytes(*p, data); },
                             [p](int) { p->close(); });
}

namespace {

// The port of "host:port" or "http://host:port/path" in a request line's target.
std::uint16_t port_of(std::string_view target) {
    if (const auto scheme = target.find("://"); scheme != std::string_view::npos) {
        target = target.substr(scheme + 3);
        target = target.substr(0, target.find('/'));
    }
    const auto colon = target.rfind(':');
    return static_cast<std::uint16_t>(std::stoi(std::string(target.substr(colon + 1))));
}

}  // namespace

void ConnectProxy::on_client_bytes(Pipe& pipe, std::string_view data) {
    if (pipe.head_done) {
        if (pipe.upstream) {
            pipe.upstream->write(std::string(data));
        }
        return;
    }
    pipe.head.append(data);
    const auto end = pipe.head.find("\r\n\r\n");
    if (end == std::string::npos) {
        return;
    }
    pipe.head_done = true;
    std::string rest = pipe.head.substr(end + 4);
    pipe.head.resize(end + 4);
    heads_.push_back(pipe.head);
    const auto first_space = pipe.head.find(' ');
    const std::string method = pipe.head.substr(0, first_space);
    const std::string target =
        pipe.head.substr(first_space + 1, pipe.head.find(' ', first_space + 1) - first_space - 1);
    if (method == "CONNECT") {
        if (!refuse_status_.empty()) {
            pipe.client->write("HTTP/1.1 " + refuse_status_ + "\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        open_upstream(pipe, port_of(target), rest, true);
        return;
    }
    open_upstream(pipe, port_of(target), pipe.head + rest, false);
}

void ConnectProxy::open_upstream(Pipe& pipe, std::uint16_t port, std::string first_bytes,
                                 bool tunnel) {
    pipe.upstream = std::make_unique<net::TcpStream>(loop_);
    Pipe* p = &pipe;
    REQUIRE(pipe.upstream->connect(
        *net::IpAddress::parse("127.0.0.1"), port, nullptr,
        [this, p, first_bytes = std::move(first_bytes), tunnel](int status, std::uint64_t) {
            if (status != 0) {
                p->client->write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
                return;
            }
            if (tunnel) {
                ++tunnels_;
                p->client->write("HTTP/1.1 200 Connection established\r\n\r\n");
            }
            if (!first_bytes.empty()) {
                p->upstream->write(first_bytes);
            }
            p->upstream->start_reading(
                [p](std::string_view data) { p->client->write(std::string(data)); },
                [p](int) {
                    // Let the client read what was relayed, then EOF.
                    p->client->shutdown_write();
                });
        }));
}

}  // namespace sonde::test

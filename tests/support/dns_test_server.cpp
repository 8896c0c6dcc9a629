#include "tests/support/dns_test_server.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>

#include "tests/support/dns_wire.hpp"

namespace sonde::test {
namespace {

struct UdpSend {
    uv_udp_send_t req{};
    std::string bytes;
};

std::string wire_name(const std::string& dotted) {
    std::string out;
    std::size_t start = 0;
    while (start < dotted.size()) {
        auto dot = dotted.find('.', start);
        if (dot == std::string::npos) {
            dot = dotted.size();
        }
        out.push_back(static_cast<char>(dot - start));
        out += dotted.substr(start, dot - start);
        start = dot + 1;
    }
    out.push_back('\0');
    return out;
}

std::string rr(const std::string& name, std::uint16_t type, std::uint16_t rr_class,
               std::uint32_t ttl, const std::string& rdata) {
    std::string out = wire_name(name);
    put16(out, type);
    put16(out, rr_class);
    put32(out, ttl);
    put16(out, static_cast<unsigned>(rdata.size()));
    return out + rdata;
}

std::uint16_t get16(std::string_view s, std::size_t off) {
    if (off + 2 > s.size()) {
        return 0;
    }
    return static_cast<std::uint16_t>((static_cast<unsigned char>(s[off]) << 8) |
                                      static_cast<unsigned char>(s[off + 1]));
}

// The end of the question section of a query with one uncompressed question.
std::size_t question_end(std::string_view query) {
    std::size_t off = 12;
    while (off < query.size() && query[off] != '\0') {
        off += 1 + static_cast<unsigned char>(query[off]);
    }
    return std::min(off + 5, query.size());
}

std::uint16_t get_port(const sockaddr_storage& ss) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
}

}  // namespace

DnsTestServer::DnsTestServer(Loop& loop, Handler handler,
                             std::shared_ptr<const net::TlsServerContext> tls)
    : loop_(loop), handler_(std::move(handler)), tls_(std::move(tls)) {
    sockaddr_in any{};
    REQUIRE(uv_ip4_addr("127.0.0.1", 0, &any) == 0);
    for (auto* socket : {&udp_, &other_udp_}) {
        REQUIRE(socket->init(this, [&](uv_udp_t* h) { return uv_udp_init(loop_.raw(), h); }) == 0);
        REQUIRE(uv_udp_bind(socket->get(), reinterpret_cast<const sockaddr*>(&any), 0) == 0);
    }
    REQUIRE(uv_udp_recv_start(udp_.get(), &on_alloc, &on_recv) == 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    REQUIRE(uv_udp_getsockname(udp_.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    udp_port_ = get_port(bound);

    REQUIRE(listener_.init(this, [&](uv_tcp_t* h) { return uv_tcp_init(loop_.raw(), h); }) == 0);
    REQUIRE(uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&any), 0) == 0);
    REQUIRE(uv_listen(listener_.as_stream(), 16, &on_connection) == 0);
    len = sizeof bound;
    REQUIRE(uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    tcp_port_ = get_port(bound);
}

DnsTestServer::~DnsTestServer() {
    close();
}

void DnsTestServer::close() {
    for (auto& conn : connections_) {
        conn->tls.reset();
        conn->stream.reset();
    }
    connections_.clear();
    udp_.reset();
    other_udp_.reset();
    listener_.reset();
}

std::string DnsTestServer::udp_address() const {
    return "127.0.0.1:" + std::to_string(udp_port_);
}

std::string DnsTestServer::tcp_address() const {
    return "127.0.0.1:" + std::to_string(tcp_port_);
}

void DnsTestServer::on_alloc(uv_handle_t* handle, std::size_t /*suggested*/,
                             uv_buf_t* buf) noexcept {
    auto* self = owner_of<DnsTestServer>(handle);
    if (self == nullptr) {
        *buf = uv_buf_init(nullptr, 0);
        return;
    }
    *buf = uv_buf_init(self->buffer_, sizeof self->buffer_);
}

void DnsTestServer::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                            const sockaddr* addr, unsigned /*flags*/) noexcept {
    auto* self = owner_of<DnsTestServer>(handle);
    if (self == nullptr || nread <= 0 || addr == nullptr) {
        return;
    }
    ++self->queries_;
    const auto replies =
        self->handler_(std::string_view(buf->base, static_cast<std::size_t>(nread)));
    for (const auto& reply : replies) {
        self->send_udp(reply.from_other_socket ? self->other_udp_.get() : self->udp_.get(),
                       reply.bytes, addr);
    }
}

void DnsTestServer::send_udp(uv_udp_t* socket, const std::string& bytes, const sockaddr* to) {
    auto* send = new UdpSend;
    send->bytes = bytes;
    uv_buf_t buf = uv_buf_init(send->bytes.data(), static_cast<unsigned>(send->bytes.size()));
    if (uv_udp_send(&send->req, socket, &buf, 1, to,
                    [](uv_udp_send_t* req, int) { delete reinterpret_cast<UdpSend*>(req); }) != 0) {
        delete send;
    }
}

void DnsTestServer::on_connection(uv_stream_t* server, int status) noexcept {
    auto* self = owner_of<DnsTestServer>(server);
    if (self == nullptr || status != 0) {
        return;
    }
    auto conn = std::make_unique<Connection>();
    conn->stream = std::make_unique<net::TcpStream>(self->loop_);
    if (!conn->stream->accept_from(server)) {
        return;
    }
    Connection& c = *conn;
    self->connections_.push_back(std::move(conn));
    if (self->tls_) {
        auto session = net::TlsSession::server(self->tls_);
        if (!session) {
            return;
        }
        c.tls = std::make_unique<net::TlsChannel>(*c.stream, std::move(*session));
        c.tls->start([](bool, std::uint64_t) {},
                     [self, &c](std::string_view data) { self->on_tcp_data(c, data); },
                     [](const std::string&) {});
        return;
    }
    c.stream->start_reading([self, &c](std::string_view data) { self->on_tcp_data(c, data); },
                            [](int) {});
}

void DnsTestServer::on_tcp_data(Connection& conn, std::string_view data) {
    conn.pending.append(data);
    while (conn.pending.size() >= 2) {
        const std::size_t length = get16(conn.pending, 0);
        if (conn.pending.size() < 2 + length) {
            return;
        }
        const std::string query = conn.pending.substr(2, length);
        conn.pending.erase(0, 2 + length);
        ++queries_;
        for (const auto& reply : handler_(query)) {
            std::string framed;
            put16(framed, static_cast<unsigned>(reply.bytes.size()));
            framed += reply.bytes;
            if (conn.tls) {
                conn.tls->write(framed);
            } else {
                conn.stream->write(std::move(framed));
            }
        }
    }
}

std::string dns_reply(std::string_view query, int rcode, const DnsRecords& records,
                      bool authoritative) {
    std::string out;
    put16(out, dns_query_id(query));
    unsigned flags = 0x8000 | (static_cast<unsigned>(rcode) & 0xF);
    if (dns_query_rd(query)) {
        flags |= 0x0100;
    }
    if (authoritative) {
        flags |= 0x0400;
    }
    put16(out, flags);
    put16(out, get16(query, 4));
    put16(out, static_cast<unsigned>(records.answer.size()));
    put16(out, static_cast<unsigned>(records.authority.size()));
    put16(out, static_cast<unsigned>(records.additional.size()));
    if (query.size() > 12) {
        out += query.substr(12, question_end(query) - 12);
    }
    for (const auto* section : {&records.answer, &records.authority, &records.additional}) {
        for (const auto& r : *section) {
            out += r;
        }
    }
    return out;
}

std::string with_id(std::string reply, std::uint16_t id) {
    reply[0] = static_cast<char>(id >> 8);
    reply[1] = static_cast<char>(id & 0xFF);
    return reply;
}

std::uint16_t dns_query_id(std::string_view query) {
    return get16(query, 0);
}

bool dns_query_rd(std::string_view query) {
    return (get16(query, 2) & 0x0100) != 0;
}

std::uint16_t dns_query_type(std::string_view query) {
    return get16(query, question_end(query) - 4);
}

std::uint16_t dns_query_class(std::string_view query) {
    return get16(query, question_end(query) - 2);
}

std::string rr_a(const std::string& name, std::uint32_t ttl, const std::string& ip,
                 std::uint16_t rr_class) {
    in_addr addr{};
    REQUIRE(inet_pton(AF_INET, ip.c_str(), &addr) == 1);
    return rr(name, 1, rr_class, ttl, std::string(reinterpret_cast<const char*>(&addr), 4));
}

std::string rr_aaaa(const std::string& name, std::uint32_t ttl, const std::string& ip) {
    in6_addr addr{};
    REQUIRE(inet_pton(AF_INET6, ip.c_str(), &addr) == 1);
    return rr(name, 28, 1, ttl, std::string(reinterpret_cast<const char*>(&addr), 16));
}

std::string rr_ns(const std::string& name, std::uint32_t ttl, const std::string& target) {
    return rr(name, 2, 1, ttl, wire_name(target));
}

std::string rr_txt(const std::string& name, std::uint32_t ttl, const std::string& text,
                   std::uint16_t rr_class) {
    std::string rdata;
    rdata.push_back(static_cast<char>(text.size()));
    rdata += text;
    return rr(name, 16, rr_class, ttl, rdata);
}

std::string rr_soa(const std::string& name, std::uint32_t ttl, const std::string& ns,
                   const std::string& mbox, std::uint32_t serial, std::uint32_t refresh,
                   std::uint32_t retry, std::uint32_t expire, std::uint32_t minttl) {
    std::string rdata = wire_name(ns) + wire_name(mbox);
    for (auto v : {serial, refresh, retry, expire, minttl}) {
        put32(rdata, v);
    }
    return rr(name, 6, 1, ttl, rdata);
}

}  // namespace sonde::test

#pragma once

// DnsTestServer: a scriptable DNS server for the dns prober's tests, on the test's own Loop,
// listening on 127.0.0.1 port 0 over UDP and TCP (and TLS over TCP when given a server
// context). A handler turns each query into the replies to send, in order: none (a server that
// never answers), a reply with another id followed by the right one, a reply sent from another
// UDP socket, or raw bytes. The helpers below build replies the way miekg/dns's SetReply does.
//
// Ownership: the test owns it; destroying it closes every socket and connection. Loop affinity:
// the Loop's thread only.

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

struct DnsReply {
    std::string bytes;
    bool from_other_socket = false;  // UDP only: sent from a second socket (another port)
};

class DnsTestServer {
public:
    using Handler = std::function<std::vector<DnsReply>(std::string_view query)>;

    DnsTestServer(Loop& loop, Handler handler,
                  std::shared_ptr<const net::TlsServerContext> tls = nullptr);
    ~DnsTestServer();
    DnsTestServer(const DnsTestServer&) = delete;
    DnsTestServer& operator=(const DnsTestServer&) = delete;

    std::string udp_address() const;  // "127.0.0.1:<port>"
    std::string tcp_address() const;
    int queries() const { return queries_; }
    int connections() const { return static_cast<int>(connections_.size()); }
    void close();

private:
    struct Connection {
        std::unique_ptr<net::TcpStream> stream;
        std::unique_ptr<net::TlsChannel> tls;
        std::string pending;
    };

    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
    static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags) noexcept;
    static void on_connection(uv_stream_t* server, int status) noexcept;
    void on_tcp_data(Connection& conn, std::string_view data);
    void send_udp(uv_udp_t* socket, const std::string& bytes, const sockaddr* to);

    Loop& loop_;
    Handler handler_;
    std::shared_ptr<const net::TlsServerContext> tls_;
    UvHandle<uv_udp_t> udp_;
    UvHandle<uv_udp_t> other_udp_;
    UvHandle<uv_tcp_t> listener_;
    std::uint16_t udp_port_ = 0;
    std::uint16_t tcp_port_ = 0;
    std::vector<std::unique_ptr<Connection>> connections_;
    int queries_ = 0;
    char buffer_[65536] = {};
};

// Reply building, for handlers. A reply echoes the query's id, RD and question (SetReply), with
// QR set, the given rcode and records. Records are given in wire form by the rr_* helpers.
struct DnsRecords {
    std::vector<std::string> answer;
    std::vector<std::string> authority;
    std::vector<std::string> additional;
};
std::string dns_reply(std::string_view query, int rcode, const DnsRecords& records = {},
                      bool authoritative = false);
// The same reply with a different id.
std::string with_id(std::string reply, std::uint16_t id);
std::uint16_t dns_query_id(std::string_view query);
bool dns_query_rd(std::string_view query);
std::uint16_t dns_query_type(std::string_view query);
std::uint16_t dns_query_class(std::string_view query);

std::string rr_a(const std::string& name, std::uint32_t ttl, const std::string& ip,
                 std::uint16_t rr_class = 1);
std::string rr_aaaa(const std::string& name, std::uint32_t ttl, const std::string& ip);
std::string rr_ns(const std::string& name, std::uint32_t ttl, const std::string& target);
std::string rr_txt(const std::string& name, std::uint32_t ttl, const std::string& text,
                   std::uint16_t rr_class = 1);
std::string rr_soa(const std::string& name, std::uint32_t ttl, const std::string& ns,
                   const std::string& mbox, std::uint32_t serial, std::uint32_t refresh,
                   std::uint32_t retry, std::uint32_t expire, std::uint32_t minttl);

}  // namespace sonde::test

#pragma once

// FakeDnsServer: a tiny UDP DNS responder for tests, on the test's own Loop, bound to
// 127.0.0.1 port 0.
//
// It answers A and AAAA questions from canned records: a name with records gets NOERROR with
// the records of the asked type (none is NODATA), a name marked nxdomain() or not known at all
// gets NXDOMAIN, and a name marked silent() is never answered (for timeout tests). Every other
// question type gets NOERROR with no answer. Records are answered in the order they were added.
//
// Ownership: the test owns it; destroying it (or close()) closes its socket. Loop affinity: the
// Loop's thread only.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"

namespace sonde::test {

class FakeDnsServer {
public:
    explicit FakeDnsServer(Loop& loop);
    ~FakeDnsServer() = default;
    FakeDnsServer(const FakeDnsServer&) = delete;
    FakeDnsServer& operator=(const FakeDnsServer&) = delete;

    // Adds one record; ip is an IPv4 literal for add_a and an IPv6 literal for add_aaaa.
    void add_a(const std::string& name, const std::string& ip);
    void add_aaaa(const std::string& name, const std::string& ip);
    void nxdomain(const std::string& name);
    void silent(const std::string& name);

    // "127.0.0.1:<port>", for ResolverOptions::servers.
    std::string address() const;
    int queries_received() const { return queries_received_; }
    int answers_sent() const { return answers_sent_; }

    void close() { udp_.reset(); }

private:
    struct Record {
        std::uint16_t type;
        std::string rdata;
    };

    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
    static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags) noexcept;
    void answer(const char* data, std::size_t size, const sockaddr* from);

    UvHandle<uv_udp_t> udp_;
    std::uint16_t port_ = 0;
    std::map<std::string, std::vector<Record>> records_;
    std::set<std::string> nxdomain_;
    std::set<std::string> silent_;
    int queries_received_ = 0;
    int answers_sent_ = 0;
    char buffer_[4096] = {};
};

}  // namespace sonde::test

#include "tests/support/fake_dns_server.hpp"

#include <cctype>

#include <arpa/inet.h>
#include <catch2/catch.hpp>

#include "tests/support/dns_wire.hpp"

namespace sonde::test {
namespace {

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeAaaa = 28;
constexpr std::uint16_t kClassIn = 1;
constexpr std::size_t kHeaderSize = 12;
constexpr int kRcodeNxdomain = 3;

std::string normalize(const std::string& name) {
    std::string out;
    for (const char c : name) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!out.empty() && out.back() == '.') {
        out.pop_back();
    }
    return out;
}

std::uint16_t get16(const unsigned char* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace

FakeDnsServer::FakeDnsServer(Loop& loop) {
    REQUIRE(udp_.init(this, [&loop](uv_udp_t* u) { return uv_udp_init(loop.raw(), u); }) == 0);
    sockaddr_in bind_addr{};
    REQUIRE(uv_ip4_addr("127.0.0.1", 0, &bind_addr) == 0);
    REQUIRE(uv_udp_bind(udp_.get(), reinterpret_cast<const sockaddr*>(&bind_addr), 0) == 0);
    sockaddr_storage bound{};
    int length = sizeof bound;
    REQUIRE(uv_udp_getsockname(udp_.get(), reinterpret_cast<sockaddr*>(&bound), &length) == 0);
    port_ = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    REQUIRE(uv_udp_recv_start(udp_.get(), &FakeDnsServer::on_alloc, &FakeDnsServer::on_recv) == 0);
}

void FakeDnsServer::add_a(const std::string& name, const std::string& ip) {
    in_addr addr{};
    REQUIRE(inet_pton(AF_INET, ip.c_str(), &addr) == 1);
    records_[normalize(name)].push_back(
        {kTypeA, std::string(reinterpret_cast<const char*>(&addr), sizeof addr)});
}

void FakeDnsServer::add_aaaa(const std::string& name, const std::string& ip) {
    in6_addr addr{};
    REQUIRE(inet_pton(AF_INET6, ip.c_str(), &addr) == 1);
    records_[normalize(name)].push_back(
        {kTypeAaaa, std::string(reinterpret_cast<const char*>(&addr), sizeof addr)});
}

void FakeDnsServer::nxdomain(const std::string& name) {
    nxdomain_.insert(normalize(name));
}

void FakeDnsServer::silent(const std::string& name) {
    silent_.insert(normalize(name));
}

std::string FakeDnsServer::address() const {
    return "127.0.0.1:" + std::to_string(port_);
}

void FakeDnsServer::on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept {
    (void)suggested;
    auto* self = owner_of<FakeDnsServer>(handle);
    if (self == nullptr) {
        *buf = uv_buf_init(nullptr, 0);
        return;
    }
    *buf = uv_buf_init(self->buffer_, sizeof self->buffer_);
}

void FakeDnsServer::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                            const sockaddr* addr, unsigned flags) noexcept {
    auto* self = owner_of<FakeDnsServer>(handle);
    if (self == nullptr || nread <= 0 || addr == nullptr || (flags & UV_UDP_PARTIAL) != 0) {
        return;
    }
    self->answer(buf->base, static_cast<std::size_t>(nread), addr);
}

void FakeDnsServer::answer(const char* data, std::size_t size, const sockaddr* from) {
    const auto* packet = reinterpret_cast<const unsigned char*>(data);
    if (size < kHeaderSize || get16(packet + 4) != 1) {
        return;  // not one question: not something c-ares sends
    }
    // The question: labels up to the root label, then type and class.
    std::string name;
    std::size_t pos = kHeaderSize;
    while (pos < size && packet[pos] != 0) {
        const std::size_t length = packet[pos];
        if ((length & 0xc0) != 0 || pos + 1 + length > size) {
            return;
        }
        if (!name.empty()) {
            name += '.';
        }
        name.append(data + pos + 1, length);
        pos += 1 + length;
    }
    if (pos + 5 > size) {
        return;
    }
    const std::size_t question_end = pos + 5;
    const std::uint16_t qtype = get16(packet + pos + 1);
    name = normalize(name);
    ++queries_received_;
    if (silent_.count(name) != 0) {
        return;
    }

    std::vector<const Record*> answers;
    int rcode = kRcodeNxdomain;
    if (nxdomain_.count(name) == 0) {
        if (const auto it = records_.find(name); it != records_.end()) {
            rcode = 0;
            for (const auto& record : it->second) {
                if (record.type == qtype) {
                    answers.push_back(&record);
                }
            }
        }
    }

    std::string out;
    out.append(data, 2);  // id
    // QR, the query's RD, RA, rcode.
    const auto rd = static_cast<std::uint16_t>(get16(packet + 2) & 0x0100);
    put16(out, static_cast<std::uint16_t>(0x8000 | rd | 0x0080 | rcode));
    put16(out, 1);
    put16(out, static_cast<std::uint16_t>(answers.size()));
    put16(out, 0);
    put16(out, 0);
    out.append(data + kHeaderSize, question_end - kHeaderSize);
    for (const auto* record : answers) {
        put16(out, 0xc000 | kHeaderSize);  // a pointer to the question's name
        put16(out, record->type);
        put16(out, kClassIn);
        put32(out, 60);
        put16(out, static_cast<std::uint16_t>(record->rdata.size()));
        out += record->rdata;
    }

    uv_buf_t reply = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    // Loopback UDP does not block; a failed send only makes the test time out.
    if (uv_udp_try_send(udp_.get(), &reply, 1, from) > 0) {
        ++answers_sent_;
    }
}

}  // namespace sonde::test

// Hostile and broken peers against every prober kind: a peer that accepts and never answers,
// one that answers a byte per second, headers and bodies that never end, a TLS handshake that
// stalls halfway, a 100-certificate chain, DNS replies with the wrong id, in a flood, or
// pointing past their end, and ICMP echo replies that are not ours. Each probe must end by its
// deadline (measured by the loop's clock, never by sleeping) with a reason: the failure kind,
// the detail, and the last step the probe's log reached (the phase it was stuck in).
//
// The http module's caps (a head or body larger than the limits) are proven in
// http_probe_hostile_test.cpp; here the peers are slow rather than big.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "modules/icmp/icmp_socket_pool.hpp"
#include "prober/net/tls_context.hpp"
#include "tests/support/build_flavor.hpp"
#include "tests/support/dns_test_server.hpp"
#include "tests/support/hostile_modules.hpp"
#include "tests/support/hostile_tcp_server.hpp"
#include "tests/support/icmp_probe_harness.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/probe_harness.hpp"
#include "tests/support/scripted_tcp_server.hpp"
#include "tests/support/test_certs.hpp"

namespace sonde {
namespace {

using modules::FailureKind;
using test::Hostility;
using test::metric_value;

// How late past its deadline a probe may report: one loop iteration plus the teardown of the
// session, with room for a machine shared by several builds (and more under the sanitizers).
constexpr double kPeersSlack = test::kSanitized ? 0.5 : 0.25;

struct Pki {
    test::TestCert ca = test::make_ca("sonde hostile CA");
    test::TestCert leaf = test::make_signed(test::localhost_spec(), ca);
    test::TempFile ca_file{ca.cert_pem};
};

std::shared_ptr<const net::TlsServerContext> server_context(const std::string& chain_pem,
                                                            const std::string& key_pem) {
    auto ctx = net::make_tls_server_context(chain_pem, key_pem);
    REQUIRE(ctx.has_value());
    return *ctx;
}

std::string target_for(const std::string& module, const std::string& address) {
    if (module == "http") {
        return "http://" + address + "/";
    }
    if (module == "https") {
        return "https://" + address + "/";
    }
    return address;
}

// Runs one probe and checks that the deadline ended it: a timeout with its detail, reported no
// earlier than the budget and no later than kPeersSlack after it, by the runner's clock and by the
// test's. Returns the report for the phase checks.
app::ProbeReport run_to_deadline(test::ProbeHarness& h, const std::string& module,
                                 const std::string& target, double timeout) {
    const std::uint64_t before = uv_hrtime();
    auto report = h.run(module, target, timeout);
    const double elapsed = static_cast<double>(uv_hrtime() - before) / 1e9;
    INFO(report.log.text());
    CHECK_FALSE(report.success);
    CHECK(report.failure == FailureKind::Timeout);
    char expected[64];
    std::snprintf(expected, sizeof expected, "probe timed out after %gs", timeout);
    CHECK(report.detail == expected);
    CHECK(report.log.text().find("Timeout reached") != std::string::npos);
    CHECK(report.duration_seconds >= timeout);
    CHECK(report.duration_seconds <= timeout + kPeersSlack);
    // The test's own clock also counts the harness around the run and any scheduling delay of a
    // busy machine; it only guards against a runner that misreports its duration.
    CHECK(elapsed <= timeout + 1.0);
    CHECK(metric_value(*report.registry, "probe_success") == 0);
    CHECK(metric_value(*report.registry, "probe_duration_seconds") == report.duration_seconds);
    return report;
}

bool logged(const app::ProbeReport& report, const std::string& text) {
    return report.log.text().find(text) != std::string::npos;
}

// ---- TCP peers ------------------------------------------------------------------------------

TEST_CASE("hostile: a peer that accepts and never answers times out in the phase it stalled",
          "[integration][hostile]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        test::HostileTcpServer server(h.loop(), {Hostility::Silent});
        struct Case {
            const char* module;
            const char* last_step;   // the last line the probe's log reached
            const char* never_step;  // a line it must not have reached
        };
        const Case cases[] = {
            {"tcp_banner", "Successfully dialed", "Read line"},
            {"tcp_tls", "Dialing TCP with TLS", "TLS Handshake (client) succeeded"},
            {"http", "Making HTTP request", "Received HTTP response"},
            {"https", "Making HTTP request", "Received HTTP response"},
            {"dns_tcp", "Making DNS query", "Got response"},
            {"dns_tls", "Making DNS query", "Got response"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.module);
            const auto report =
                run_to_deadline(h, c.module, target_for(c.module, server.address()), 0.3);
            CHECK(logged(report, c.last_step));
            CHECK_FALSE(logged(report, c.never_step));
        }
        CHECK(server.accepted() == 6);
        // Every connection was closed by its probe, and the server saw it.
        CHECK(h.fixture().run_until([&] { return server.open_connections() == 0; }));
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("hostile: a slowloris peer (one byte per second) times out at the deadline",
          "[integration][hostile]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        const std::string module = GENERATE(as<std::string>{}, "http", "tcp_banner");
        test::HostileOptions options{Hostility::Drip};
        options.interval_ms = 1000;
        options.script = module == "http" ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                                          : "220 slow banner\r\n";
        test::HostileTcpServer server(h.loop(), options);
        const auto report = run_to_deadline(h, module, target_for(module, server.address()), 1.2);
        // It got the first bytes (at 0 s and at 1 s), never a whole line.
        CHECK(server.written() == 2);
        if (module == "http") {
            CHECK(logged(report, "Making HTTP request"));
            CHECK_FALSE(logged(report, "Received HTTP response"));
            CHECK(metric_value(*report.registry, "probe_http_status_code") == 0);
        } else {
            CHECK(logged(report, "Successfully dialed"));
            CHECK_FALSE(logged(report, "Read line"));
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("hostile: headers that keep coming slowly time out at the deadline",
          "[integration][hostile]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        test::HostileOptions options{Hostility::EndlessHeaders};
        options.interval_ms = 20;
        test::HostileTcpServer server(h.loop(), options);
        const auto report = run_to_deadline(h, "http", target_for("http", server.address()), 0.5);
        CHECK(server.written() > 200);  // the status line and a header every 20 ms
        CHECK(logged(report, "Making HTTP request"));
        CHECK_FALSE(logged(report, "Received HTTP response"));
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 0);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("hostile: a body that keeps coming slowly times out at the deadline",
          "[integration][hostile]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        test::HostileOptions options{Hostility::EndlessBody};
        options.interval_ms = 20;
        test::HostileTcpServer server(h.loop(), options);
        const auto report = run_to_deadline(h, "http", target_for("http", server.address()), 0.5);
        CHECK(server.written() > 100);
        // The head arrived, so the response's gauges are kept, as the exporter keeps them when
        // the body read fails with the deadline.
        CHECK(metric_value(*report.registry, "probe_http_status_code") == 200);
        CHECK(metric_value(*report.registry, "probe_http_content_length") == -1);
    }
    REQUIRE(h.close() == 0);
}

// ---- TLS ------------------------------------------------------------------------------------

TEST_CASE("hostile: a TLS handshake stalled after half the server's flight times out",
          "[integration][hostile]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        test::HostileOptions options{Hostility::TlsStall};
        options.tls = server_context(pki.leaf.cert_pem, pki.leaf.key_pem);
        test::HostileTcpServer server(h.loop(), options);
        const std::string module = GENERATE(as<std::string>{}, "tcp_tls", "https", "dns_tls");
        CAPTURE(module);
        const auto report = run_to_deadline(h, module, target_for(module, server.address()), 0.4);
        CHECK(server.stalled_handshakes() == 1);
        if (module == "tcp_tls") {
            CHECK(logged(report, "Dialing TCP with TLS"));
            CHECK_FALSE(logged(report, "TLS Handshake (client) succeeded"));
        } else if (module == "https") {
            CHECK(logged(report, "Making HTTP request"));
            CHECK_FALSE(logged(report, "Received HTTP response"));
        } else {
            CHECK(logged(report, "Making DNS query"));
            CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 0);
        }
    }
    REQUIRE(h.close() == 0);
}

// A chain of a leaf and `intermediates` CA certificates below `root`: the leaf (CN=localhost)
// first, then its intermediates up to the one the root signed, as a server sends them.
std::string long_chain(const test::TestCert& root, int intermediates, test::TestCert* leaf) {
    std::vector<test::TestCert> cas;
    cas.push_back(test::make_intermediate("intermediate 1", root));
    for (int i = 2; i <= intermediates; ++i) {
        cas.push_back(test::make_intermediate("intermediate " + std::to_string(i), cas.back()));
    }
    *leaf = test::make_signed(test::localhost_spec(), cas.back());
    std::string pem = leaf->cert_pem;
    for (auto it = cas.rbegin(); it != cas.rend(); ++it) {
        pem += it->cert_pem;
    }
    return pem;
}

TEST_CASE("hostile: a 100-certificate chain is handled at once", "[integration][hostile]") {
    Pki pki;
    test::TestCert leaf;
    const std::string chain = long_chain(pki.ca, 99, &leaf);
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()) + R"(  tcp_tls_insecure:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        insecure_skip_verify: true
)");
    {
        // It answers an HTTP request too, for the https probe.
        test::ScriptedTcpServer server(
            h.loop(), {}, [](test::ScriptedTcpServer::Connection& conn, std::string_view line) {
                if (line.empty()) {
                    conn.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                }
            });
        server.use_tls(server_context(chain, leaf.key_pem));
        SECTION("verified against the root") {
            for (const char* module : {"tcp_tls", "https"}) {
                CAPTURE(module);
                const auto report = h.run(module, target_for(module, server.address()), 5);
                INFO(report.log.text());
                // OpenSSL's default depth (100 intermediates) admits it, as Go has no limit.
                CHECK(report.success);
                CHECK(report.duration_seconds < 2.5);
                CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry") ==
                      static_cast<double>(leaf.not_after));
            }
        }
        SECTION("not verified") {
            const auto report = h.run("tcp_tls_insecure", server.address(), 5);
            INFO(report.log.text());
            CHECK(report.success);
            CHECK(report.duration_seconds < 2.5);
            CHECK(metric_value(*report.registry, "probe_ssl_earliest_cert_expiry").has_value());
        }
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("hostile: probes destroyed while stuck on hostile peers leave nothing behind",
          "[integration][hostile]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        test::HostileTcpServer silent(h.loop(), {Hostility::Silent});
        test::HostileOptions drip{Hostility::Drip};
        drip.interval_ms = 1000;
        test::HostileTcpServer slowloris(h.loop(), drip);
        test::HostileOptions headers{Hostility::EndlessHeaders};
        headers.interval_ms = 10;
        test::HostileTcpServer endless_headers(h.loop(), headers);
        test::HostileOptions body{Hostility::EndlessBody};
        body.interval_ms = 10;
        test::HostileTcpServer endless_body(h.loop(), body);
        test::HostileOptions stall{Hostility::TlsStall};
        stall.tls = server_context(pki.leaf.cert_pem, pki.leaf.key_pem);
        test::HostileTcpServer tls_stall(h.loop(), stall);
        const std::vector<std::pair<std::string, std::string>> probes = {
            {"tcp_banner", silent.address()},
            {"http", target_for("http", slowloris.address())},
            {"http", target_for("http", endless_headers.address())},
            {"http", target_for("http", endless_body.address())},
            {"tcp_tls", tls_stall.address()},
            {"https", target_for("https", tls_stall.address())},
            {"dns_tls", tls_stall.address()},
            {"dns_tcp", silent.address()},
        };
        std::vector<std::optional<app::ProbeReport>> reports(probes.size());
        std::vector<std::unique_ptr<app::ProbeRun>> runs;
        for (std::size_t i = 0; i < probes.size(); ++i) {
            runs.push_back(h.start(probes[i].first, probes[i].second, 5, &reports[i]));
        }
        // Each peer is mid-misbehaviour: bytes flowing, handshakes stalled halfway.
        REQUIRE(h.fixture().run_until([&] {
            return silent.accepted() == 2 && slowloris.written() >= 1 &&
                   endless_headers.written() > 100 && endless_body.written() > 100 &&
                   tls_stall.stalled_handshakes() == 3;
        }));
        runs.clear();
        REQUIRE(h.fixture().run_until([&] {
            return silent.open_connections() + slowloris.open_connections() +
                       endless_headers.open_connections() + endless_body.open_connections() +
                       tls_stall.open_connections() ==
                   0;
        }));
        for (const auto& report : reports) {
            CHECK_FALSE(report.has_value());
        }
    }
    REQUIRE(h.close() == 0);
}

// ---- DNS ------------------------------------------------------------------------------------

std::vector<test::DnsReply> flood_of_wrong_ids(std::string_view q, int count, bool then_right) {
    test::DnsRecords records;
    records.answer = {test::rr_a("example.com", 60, "127.0.0.1")};
    const auto right = test::dns_reply(q, 0, records);
    std::vector<test::DnsReply> replies;
    for (int i = 1; i <= count; ++i) {
        replies.push_back(
            {test::with_id(right, static_cast<std::uint16_t>(test::dns_query_id(q) + i))});
    }
    if (then_right) {
        replies.push_back({right});
    }
    return replies;
}

TEST_CASE("hostile: DNS replies with the wrong id, however many, never end the probe early",
          "[integration][hostile]") {
    const std::string module = GENERATE(as<std::string>{}, "dns_udp", "dns_tcp");
    CAPTURE(module);
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        SECTION("only wrong ids: the deadline ends it") {
            test::DnsTestServer server(
                h.loop(), [](std::string_view q) { return flood_of_wrong_ids(q, 1, false); });
            const auto report = run_to_deadline(
                h, module, module == "dns_udp" ? server.udp_address() : server.tcp_address(), 0.3);
            CHECK(logged(report, "Ignoring a reply with another id"));
            CHECK_FALSE(logged(report, "Got response"));
            CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 0);
            server.close();
        }
        SECTION("a flood of 1000 wrong ids: the deadline ends it") {
            test::DnsTestServer server(
                h.loop(), [](std::string_view q) { return flood_of_wrong_ids(q, 1000, false); });
            const auto report = run_to_deadline(
                h, module, module == "dns_udp" ? server.udp_address() : server.tcp_address(), 0.5);
            CHECK(logged(report, "Ignoring a reply with another id"));
            CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 0);
            server.close();
        }
        SECTION("a flood of wrong ids, then the right one: success") {
            // Over UDP the burst is kept within what the socket's receive buffer holds (the
            // server sends it all before the probe reads any), so the right one is not dropped.
            const int count = module == "dns_udp" ? 100 : 1000;
            test::DnsTestServer server(h.loop(), [count](std::string_view q) {
                return flood_of_wrong_ids(q, count, true);
            });
            const auto report =
                h.run(module, module == "dns_udp" ? server.udp_address() : server.tcp_address(), 5);
            INFO(report.log.text());
            CHECK(report.success);
            CHECK(metric_value(*report.registry, "probe_dns_answer_rrs") == 1);
            server.close();
        }
    }
    REQUIRE(h.close() == 0);
}

std::string header_of(std::string_view query, std::uint16_t an) {
    std::string h(query.substr(0, 2));  // the query's id
    for (const std::uint16_t v :
         {std::uint16_t{0x8180}, std::uint16_t{0}, an, std::uint16_t{0}, std::uint16_t{0}}) {
        h += static_cast<char>(v >> 8);
        h += static_cast<char>(v & 0xff);
    }
    return h;
}

TEST_CASE("hostile: a DNS reply pointing past its own end fails at once with the reason",
          "[integration][hostile]") {
    struct Crafted {
        const char* what;
        std::string (*reply)(std::string_view);
        const char* reason;
    };
    const Crafted cases[] = {
        {"a compression pointer past the end",
         [](std::string_view q) {
             // One answer whose owner name points at offset 0x3ff, far past the message.
             return header_of(q, 1) + std::string("\xc3\xff", 2) +
                    std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", 14);
         },
         "dns: bad compression pointer"},
        {"an rdlength past the end",
         [](std::string_view q) {
             return header_of(q, 1) + std::string("\x00", 1) +
                    std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\xff\xff\x7f\x00", 12);
         },
         "dns: bad rdlength"},
        {"a second record cut off after its owner name",
         [](std::string_view q) {
             return header_of(q, 2) + std::string("\x00", 1) +
                    std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", 14) +
                    std::string("\x00\x00\x01", 3);
         },
         "dns: buffer size too small"},
    };
    const std::string module = GENERATE(as<std::string>{}, "dns_udp", "dns_tcp");
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    for (const auto& c : cases) {
        CAPTURE(module, c.what);
        test::DnsTestServer server(h.loop(), [&](std::string_view q) {
            return std::vector<test::DnsReply>{{c.reply(q)}};
        });
        const auto report =
            h.run(module, module == "dns_udp" ? server.udp_address() : server.tcp_address(), 2);
        INFO(report.log.text());
        CHECK_FALSE(report.success);
        CHECK(report.failure == FailureKind::Protocol);
        CHECK(report.detail == std::string("Error while sending a DNS query: ") + c.reason);
        CHECK(report.duration_seconds < 1);
        CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 0);
        server.close();
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("hostile: a DNS-over-TCP length that promises more than comes times out",
          "[integration][hostile]") {
    Pki pki;
    test::ProbeHarness h;
    h.load(test::hostile_modules_yaml(pki.ca_file.path()));
    {
        // The framing says 65535 bytes; twelve come, then nothing. The greeting goes out on
        // accept, before the query: the probe reads it as the start of its reply.
        test::ScriptedTcpServer server(
            h.loop(), std::string("\xff\xff\x12\x34\x81\x80", 6) + std::string(6, '\0'));
        const auto report = run_to_deadline(h, "dns_tcp", server.address(), 0.3);
        CHECK(logged(report, "Making DNS query"));
        CHECK_FALSE(logged(report, "Got response"));
        CHECK(metric_value(*report.registry, "probe_dns_query_succeeded") == 0);
    }
    REQUIRE(h.close() == 0);
}

// ---- ICMP -----------------------------------------------------------------------------------

std::uint16_t icmp_checksum(const std::string& data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < data.size(); i += 2) {
        sum +=
            (static_cast<unsigned char>(data[i]) << 8U) | static_cast<unsigned char>(data[i + 1]);
    }
    if (data.size() % 2 == 1) {
        sum += static_cast<unsigned char>(data.back()) << 8U;
    }
    while ((sum >> 16U) != 0) {
        sum = (sum & 0xffffU) + (sum >> 16U);
    }
    return static_cast<std::uint16_t>(~sum & 0xffffU);
}

std::string echo_reply(std::uint16_t id, std::uint16_t sequence, const std::string& payload) {
    std::string packet(8, '\0');
    packet[0] = 0;  // echo reply
    packet[4] = static_cast<char>(id >> 8);
    packet[5] = static_cast<char>(id & 0xff);
    packet[6] = static_cast<char>(sequence >> 8);
    packet[7] = static_cast<char>(sequence & 0xff);
    packet += payload;
    const auto sum = icmp_checksum(packet);
    packet[2] = static_cast<char>(sum >> 8);
    packet[3] = static_cast<char>(sum & 0xff);
    return packet;
}

// A raw ICMP socket on the loop that sees every echo request sent to 127.0.0.1 and answers it
// with forged replies: another identifier, another sequence, another payload, and (when asked)
// finally the right reply. The namespace's kernel does not answer (icmp_echo_ignore_all).
class EchoForger {
public:
    EchoForger(Loop& loop, bool answer_right) : answer_right_(answer_right) {
        fd_ = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
        REQUIRE(fd_ >= 0);
        REQUIRE(poll_.init(this, [&](uv_poll_t* p) { return uv_poll_init(loop.raw(), p, fd_); }) ==
                0);
        REQUIRE(uv_poll_start(poll_.get(), UV_READABLE, &EchoForger::on_readable) == 0);
    }
    ~EchoForger() {
        poll_.reset();
        ::close(fd_);
    }
    EchoForger(const EchoForger&) = delete;
    EchoForger& operator=(const EchoForger&) = delete;

    int requests() const { return requests_; }
    int forged() const { return forged_; }

private:
    static void on_readable(uv_poll_t* poll, int status, int /*events*/) noexcept {
        auto* self = owner_of<EchoForger>(poll);
        if (self == nullptr || status != 0) {
            return;
        }
        char buffer[2048];
        for (;;) {
            const auto n = ::recv(self->fd_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                return;
            }
            const auto header = static_cast<std::size_t>(buffer[0] & 0x0f) * 4;
            if (static_cast<std::size_t>(n) < header + 8 || buffer[header] != 8) {
                continue;  // not an echo request (our own forged replies come back here too)
            }
            const auto* icmp = reinterpret_cast<const unsigned char*>(buffer + header);
            const auto id = static_cast<std::uint16_t>((icmp[4] << 8U) | icmp[5]);
            const auto sequence = static_cast<std::uint16_t>((icmp[6] << 8U) | icmp[7]);
            const std::string payload(buffer + header + 8,
                                      static_cast<std::size_t>(n) - header - 8);
            ++self->requests_;
            std::string other_payload = payload;
            other_payload.push_back('!');
            self->send(echo_reply(static_cast<std::uint16_t>(id ^ 0x5a5a), sequence, payload));
            self->send(echo_reply(id, static_cast<std::uint16_t>(sequence + 1), payload));
            self->send(echo_reply(id, sequence, other_payload));
            if (self->answer_right_) {
                self->send(echo_reply(id, sequence, payload));
            }
        }
    }

    void send(const std::string& packet) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to) == static_cast<ssize_t>(packet.size())) {
            ++forged_;
        }
    }

    bool answer_right_;
    int fd_ = -1;
    UvHandle<uv_poll_t> poll_;
    int requests_ = 0;
    int forged_ = 0;
};

constexpr const char* kIcmpModules = R"yaml(modules:
  icmp:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
)yaml";

void forged_replies_child(modules::icmp::IcmpSocketKind expected_kind) {
    REQUIRE(test::in_netns_child());
    test::IcmpProbeHarness h;
    h.load(kIcmpModules);
    {
        EchoForger forger(h.loop(), false);
        const std::uint64_t before = uv_hrtime();
        std::optional<app::ProbeReport> report;
        std::optional<modules::icmp::IcmpSocketKind> kind;
        auto run = h.start("icmp", "127.0.0.1", 0.3, &report);
        REQUIRE(h.fixture().run_until([&] {
            if (!kind) {
                modules::icmp::IcmpSocketOptions options;
                options.family = AF_INET;
                kind = h.pool().socket_kind(options);
            }
            return report.has_value();
        }));
        const double elapsed = static_cast<double>(uv_hrtime() - before) / 1e9;
        run.reset();
        INFO(report->log.text());
        CHECK(kind == expected_kind);
        CHECK(forger.requests() == 1);
        CHECK(forger.forged() == 3);
        CHECK_FALSE(report->success);
        CHECK(report->failure == FailureKind::Timeout);
        CHECK(report->detail == "probe timed out after 0.3s");
        CHECK(report->log.text().find("Waiting for reply packets") != std::string::npos);
        CHECK(report->log.text().find("Found matching reply packet") == std::string::npos);
        CHECK(report->duration_seconds >= 0.3);
        CHECK(report->duration_seconds <= 0.3 + kPeersSlack);
        CHECK(elapsed <= 0.3 + 1.0);
        CHECK_FALSE(metric_value(*report->registry, "probe_icmp_reply_hop_limit"));
    }
    {
        // The same forgeries followed by the right reply: the forger's replies are real ones,
        // and the right one still wins after the wrong ones.
        EchoForger forger(h.loop(), true);
        const auto report = h.run("icmp", "127.0.0.1", 2);
        INFO(report.log.text());
        CHECK(report.success);
        CHECK(forger.forged() == 4);
    }
    REQUIRE(h.close() == 0);
}

TEST_CASE("hostile: ICMP echo replies with foreign identifiers are ignored (raw socket)",
          "[integration][hostile]") {
    (void)test::run_in_netns("sysctl -qw net.ipv4.icmp_echo_ignore_all=1",
                             "hostile netns child: forged echo replies on a raw socket");
}

TEST_CASE("hostile netns child: forged echo replies on a raw socket", "[.][hostile-netns-child]") {
    forged_replies_child(modules::icmp::IcmpSocketKind::Raw);
}

TEST_CASE("hostile: ICMP echo replies with foreign identifiers are ignored (datagram socket)",
          "[integration][hostile]") {
    (void)test::run_in_netns(
        "sysctl -qw net.ipv4.icmp_echo_ignore_all=1 && "
        "sysctl -qw net.ipv4.ping_group_range='0 2147483647'",
        "hostile netns child: forged echo replies on a datagram socket");
}

TEST_CASE("hostile netns child: forged echo replies on a datagram socket",
          "[.][hostile-netns-child]") {
    forged_replies_child(modules::icmp::IcmpSocketKind::Datagram);
}

}  // namespace
}  // namespace sonde

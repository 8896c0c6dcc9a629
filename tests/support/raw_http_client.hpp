#pragma once

// RawHttpClient: a test client that writes raw bytes to a server on the same Loop and collects
// whatever comes back, so tests can send malformed, pipelined or partial requests. It never
// blocks: tests drive the loop with LoopFixture::run_until and look at the state.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prober/core/loop.hpp"
#include "prober/net/http_request.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/tcp_stream.hpp"

namespace sonde::test {

struct RawResponse {
    int status = 0;
    net::HttpHeaders headers;
    std::string body;
};

class RawHttpClient {
public:
    explicit RawHttpClient(Loop& loop) : loop_(loop) {}

    // Connects to 127.0.0.1:port (or address) and sends first_bytes once connected.
    void connect(std::uint16_t port, std::string first_bytes = {});
    void connect(const net::IpAddress& address, std::uint16_t port, std::string first_bytes = {});
    // Sends more bytes (queued until connected).
    void send(std::string bytes);
    // Closes the socket now, as a client that goes away.
    void close();

    bool connected() const { return connected_; }
    int connect_status() const { return connect_status_; }
    // The server ended the stream (EOF or reset); end_status() says which.
    bool ended() const { return ended_; }
    int end_status() const { return end_status_; }
    const std::string& received() const { return received_; }
    // The complete responses received so far; interim 1xx responses are skipped. Relies on
    // Content-Length, which sonde's server always sends.
    std::vector<RawResponse> responses() const;

private:
    Loop& loop_;
    std::unique_ptr<net::TcpStream> stream_;
    std::string queued_;
    std::string received_;
    bool connected_ = false;
    int connect_status_ = 1;  // not yet known
    bool ended_ = false;
    int end_status_ = 0;
};

// A GET request for target with the extra header lines given ("Name: value\r\n" each).
std::string get_request(const std::string& target, const std::string& extra_headers = {});

}  // namespace sonde::test

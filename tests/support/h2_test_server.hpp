#pragma once

// H2TestServer: an HTTP/2 server on its own thread on 127.0.0.1, port 0, built on nghttp2, for
// the http prober's HTTP/2 path and the grpc prober. Plain (prior knowledge) or TLS with ALPN
// (it selects "h2" when offered, else whatever `alpn` allows, else nothing). Each request's
// answer comes from the test's handler, which can also stall (never answer), reset the
// stream, or answer with trailers (as gRPC does).
//
// Connections are served one after another; the destructor wakes and ends whatever is
// blocked (accept, a stalled connection).

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sonde::test {

using H2Fields = std::vector<std::pair<std::string, std::string>>;

struct H2TestRequest {
    std::string method;
    std::string scheme;
    std::string authority;
    std::string path;
    H2Fields headers;  // regular fields, names lower-case as on the wire
    std::string body;
    std::string find(const std::string& name) const;  // "" when absent
};

struct H2TestReply {
    int status = 200;
    H2Fields headers;
    std::string body;
    // Sent as a header block after the body; with no body and no trailers the head ends the
    // stream (a gRPC "trailers-only" answer puts grpc-status among the headers).
    H2Fields trailers;
    bool stall = false;            // never answer
    std::uint32_t reset_code = 0;  // non-zero: RST_STREAM with this code instead of answering
};

using H2Handler = std::function<H2TestReply(const H2TestRequest&)>;

class H2TestServer {
public:
    struct Options {
        bool tls = false;
        std::string cert_pem;  // with tls: the server's certificate and key
        std::string key_pem;
        std::vector<std::string> alpn = {"h2"};  // what the server is willing to select
    };

    H2TestServer(H2Handler handler, Options options);
    ~H2TestServer();
    H2TestServer(const H2TestServer&) = delete;
    H2TestServer& operator=(const H2TestServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    // Requests seen so far, in order.
    std::vector<H2TestRequest> requests() const;

private:
    void serve();
    void serve_connection(int fd);

    H2Handler handler_;
    Options options_;
    void* ssl_ctx_ = nullptr;  // SSL_CTX*, kept out of this header
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<int> conn_fd_{-1};
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<H2TestRequest> requests_;
    std::thread thread_;
};

}  // namespace sonde::test

#pragma once

// ThreadedHttpServer: sonde's HttpServer on its own loop in its own thread, for peers outside
// the test's process (the sonde binary, the reference exporter) to probe while the test blocks
// on HTTP calls. The handler runs on the server's thread and answers synchronously.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "prober/net/http_request.hpp"
#include "prober/net/http_response.hpp"

namespace sonde::test {

class ThreadedHttpServer {
public:
    using Handler = std::function<net::HttpResponse(const net::HttpRequest&)>;

    explicit ThreadedHttpServer(Handler handler);
    ~ThreadedHttpServer();
    ThreadedHttpServer(const ThreadedHttpServer&) = delete;
    ThreadedHttpServer& operator=(const ThreadedHttpServer&) = delete;

    std::uint16_t port() const { return port_.load(); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

private:
    Handler handler_;
    std::atomic<std::uint16_t> port_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace sonde::test

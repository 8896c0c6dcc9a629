#pragma once

// ThreadedTcpServer: a ScriptedTcpServer on its own loop in its own thread, for peers outside
// the test's process (the sonde binary, the reference exporter) to probe while the test blocks
// on HTTP calls. The greeting is sent to every connection, then the connection is closed.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include <uv.h>

namespace sonde::test {

class ThreadedTcpServer {
public:
    explicit ThreadedTcpServer(std::string greeting);
    ~ThreadedTcpServer();
    ThreadedTcpServer(const ThreadedTcpServer&) = delete;
    ThreadedTcpServer& operator=(const ThreadedTcpServer&) = delete;

    std::uint16_t port() const { return port_.load(); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

private:
    std::string greeting_;
    std::atomic<std::uint16_t> port_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace sonde::test

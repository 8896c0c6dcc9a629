#pragma once

// SondeProcess: the real sonde binary started by a test, listening on 127.0.0.1 port 0, and
// a blocking HTTP/1.1 client to talk to it. For tests of what only a process shows: flags,
// signals, exit codes, the log.

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "tests/support/metrics_parse.hpp"

namespace sonde::test {

// The line sonde logs once it listens, with the port as the first group: the ready pattern for
// a sonde started through another program (prlimit, setpriv, a namespace).
inline constexpr const char* kSondeListeningPattern =
    "Listening on.*address=127\\.0\\.0\\.1:([0-9]+)";

struct HttpReply {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
};

// One request on a fresh connection to 127.0.0.1:port (Connection: close). Status 0 when the
// connection failed.
HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::map<std::string, std::string>& headers = {},
                       const std::string& body = {});

// GET /metrics from sonde on 127.0.0.1:port, parsed; the test fails unless it answers 200.
Samples scrape_metrics(std::uint16_t port);

// A free loopback TCP port, found by binding port 0 and closing: for peers (the reference
// exporter) that cannot report the port they bound.
std::uint16_t free_port();

class SondeProcess {
public:
    // Starts sonde with args plus --web.listen-address=127.0.0.1:0 and waits until it logs the
    // port it listens on. REQUIREs success.
    // cwd: directory to start in (the default config file is looked up there); empty: ours.
    explicit SondeProcess(std::vector<std::string> args, std::string cwd = {});

    // Any other program: argv as given; ready when its output matches ready_pattern (an
    // ECMAScript regex whose first group, if any, is taken as the port).
    SondeProcess(std::vector<std::string> argv, const std::string& ready_pattern,
                 std::uint16_t port);
    ~SondeProcess();
    SondeProcess(const SondeProcess&) = delete;
    SondeProcess& operator=(const SondeProcess&) = delete;

    std::uint16_t port() const { return port_; }
    // The child's process id (for /proc/<pid>/status).
    pid_t pid() const { return pid_; }
    void signal(int signum);
    // Waits for the process to exit; returns its exit code (128+signal when killed).
    int wait(int timeout_ms = 20000);
    // Everything it wrote to stderr/stdout so far.
    std::string output() const;
    // Waits until the output matches pattern (ECMAScript); returns the first group (the whole
    // match without groups), or nothing at the timeout or once the process closed its output.
    std::optional<std::string> wait_for_output(const std::string& pattern, int timeout_ms);

private:
    void start(std::vector<std::string> argv, const std::string& cwd);
    void wait_ready(const std::string& pattern);
    void ready_or_stop(const std::string& pattern);
    // Kills the child if it still runs, reaps it and joins the reader.
    void stop();
    // The reader thread: drains the child's output pipe as it comes, so a child that logs a
    // lot (sonde logs every probe) never blocks in a write while the test looks elsewhere.
    void read_output();
    // Reaps the child if it has exited (non-blocking).
    void poll_exit();

    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::uint16_t port_ = 0;
    bool exited_ = false;
    int exit_code_ = -1;

    mutable std::mutex output_mutex_;
    std::condition_variable output_grew_;
    std::string output_;
    bool output_closed_ = false;
    std::atomic<bool> stop_reading_{false};
    std::thread reader_;
};

}  // namespace sonde::test

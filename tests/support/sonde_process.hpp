#pragma once

// SondeProcess: the real sonde binary started by a test, listening on 127.0.0.1 port 0, and
// a blocking HTTP/1.1 client to talk to it. For tests of what only a process shows: flags,
// signals, exit codes, the log.

#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sonde::test {

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
    void signal(int signum);
    // Waits for the process to exit; returns its exit code (128+signal when killed).
    int wait(int timeout_ms = 20000);
    // Everything it wrote to stderr/stdout so far (reads what is pending).
    const std::string& output();

private:
    void start(std::vector<std::string> argv, const std::string& cwd);
    void wait_ready(const std::string& pattern);
    void read_available(int timeout_ms);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::uint16_t port_ = 0;
    std::string output_;
    bool exited_ = false;
    int exit_code_ = -1;
};

}  // namespace sonde::test

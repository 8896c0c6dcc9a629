#include "tests/support/sonde_process.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <regex>

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sonde::test {

HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::map<std::string, std::string>& headers, const std::string& body) {
    HttpReply reply;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return reply;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return reply;
    }
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    request += "Connection: close\r\n";
    for (const auto& [k, v] : headers) {
        request += k + ": " + v + "\r\n";
    }
    if (!body.empty() || method == "POST") {
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    request += "\r\n" + body;
    (void)send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string raw;
    char buffer[8192];
    for (;;) {
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
            break;
        }
        raw.append(buffer, static_cast<std::size_t>(n));
    }
    close(fd);
    const auto header_end = raw.find("\r\n\r\n");
    if (header_end == std::string::npos || raw.size() < 12) {
        return reply;
    }
    reply.status = std::stoi(raw.substr(9, 3));
    std::size_t pos = raw.find("\r\n") + 2;
    while (pos < header_end) {
        const auto eol = raw.find("\r\n", pos);
        const std::string line = raw.substr(pos, eol - pos);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            reply.headers[name] = value;
        }
        pos = eol + 2;
    }
    reply.body = raw.substr(header_end + 4);
    // Go's server chunks bodies larger than its buffer (an http probe's metrics are).
    const auto te = reply.headers.find("transfer-encoding");
    if (te != reply.headers.end() && te->second.find("chunked") != std::string::npos) {
        std::string decoded;
        std::size_t at = 0;
        for (;;) {
            const auto eol = reply.body.find("\r\n", at);
            if (eol == std::string::npos) {
                break;
            }
            const std::size_t size = std::stoul(reply.body.substr(at, eol - at), nullptr, 16);
            if (size == 0 || eol + 2 + size > reply.body.size()) {
                break;
            }
            decoded += reply.body.substr(eol + 2, size);
            at = eol + 2 + size + 2;
        }
        reply.body = std::move(decoded);
    }
    return reply;
}

Samples scrape_metrics(std::uint16_t port) {
    const auto reply = http_request(port, "GET", "/metrics");
    REQUIRE(reply.status == 200);
    return parse_samples(reply.body);
}

std::uint16_t free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

SondeProcess::SondeProcess(std::vector<std::string> args, std::string cwd) {
    args.insert(args.begin(), SONDE_BINARY);
    args.emplace_back("--web.listen-address=127.0.0.1:0");
    start(std::move(args), cwd);
    ready_or_stop(kSondeListeningPattern);
}

SondeProcess::SondeProcess(std::vector<std::string> argv, const std::string& ready_pattern,
                           std::uint16_t port)
    : port_(port) {
    start(std::move(argv), {});
    ready_or_stop(ready_pattern);
}

void SondeProcess::ready_or_stop(const std::string& pattern) {
    // A constructor that throws runs no destructor: the child and the reader go here.
    try {
        wait_ready(pattern);
    } catch (...) {
        stop();
        throw;
    }
}

void SondeProcess::start(std::vector<std::string> args, const std::string& cwd) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    // Everything the child needs is built before fork(): the test process has threads, and a
    // child that allocates could block forever on a lock another thread held at the fork.
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
            _exit(126);
        }
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    reader_ = std::thread([this] { read_output(); });
}

void SondeProcess::wait_ready(const std::string& pattern) {
    const std::regex ready(pattern);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    std::smatch match;
    std::unique_lock lock(output_mutex_);
    for (;;) {
        if (std::regex_search(output_, match, ready)) {
            if (match.size() > 1 && match[1].matched) {
                port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
            }
            return;
        }
        // The pipe closes when the child exits: what it wrote is all there is.
        if (output_closed_ || output_grew_.wait_until(lock, deadline) == std::cv_status::timeout) {
            break;
        }
    }
    const std::string seen = output_;
    lock.unlock();
    FAIL("process did not become ready; output:\n" << seen);
}

SondeProcess::~SondeProcess() {
    stop();
}

void SondeProcess::stop() {
    if (pid_ > 0) {
        poll_exit();
        if (!exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            exited_ = true;
        }
    }
    // A grandchild could keep the pipe open; the reader also stops on the flag.
    stop_reading_ = true;
    if (reader_.joinable()) {
        reader_.join();
    }
    if (out_fd_ >= 0) {
        close(out_fd_);
        out_fd_ = -1;
    }
}

void SondeProcess::read_output() {
    char buffer[16384];
    while (!stop_reading_) {
        pollfd pfd{out_fd_, POLLIN, 0};
        const int ready = poll(&pfd, 1, 100);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            if (ready < 0) {
                break;
            }
            continue;
        }
        const ssize_t n = read(out_fd_, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        {
            const std::lock_guard lock(output_mutex_);
            output_.append(buffer, static_cast<std::size_t>(n));
        }
        output_grew_.notify_all();
    }
    {
        const std::lock_guard lock(output_mutex_);
        output_closed_ = true;
    }
    output_grew_.notify_all();
}

void SondeProcess::poll_exit() {
    if (exited_) {
        return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}

std::optional<std::string> SondeProcess::wait_for_output(const std::string& pattern,
                                                         int timeout_ms) {
    const std::regex wanted(pattern);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::smatch match;
    std::unique_lock lock(output_mutex_);
    for (;;) {
        if (std::regex_search(output_, match, wanted)) {
            return match.size() > 1 ? match[1].str() : match[0].str();
        }
        if (output_closed_ || output_grew_.wait_until(lock, deadline) == std::cv_status::timeout) {
            return std::nullopt;
        }
    }
}

std::string SondeProcess::output() const {
    const std::lock_guard lock(output_mutex_);
    return output_;
}

void SondeProcess::signal(int signum) {
    poll_exit();
    if (!exited_) {
        kill(pid_, signum);
    }
}

int SondeProcess::wait(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        poll_exit();
        if (exited_ || std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (exited_) {
        // What it printed before exiting: the pipe is closed once the child is gone.
        std::unique_lock lock(output_mutex_);
        output_grew_.wait_for(lock, std::chrono::seconds(5), [this] { return output_closed_; });
        return exit_code_;
    }
    return -1;
}

}  // namespace sonde::test

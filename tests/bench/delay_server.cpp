// delay_server: an HTTP/1.1 server for the timing-truth benchmark that answers every request
// exactly DELAY after the request reached its socket, and measures how well it keeps that promise.
//
//   delay_server PORT [DELAY_MS=50]
//
// - It listens on 127.0.0.1:PORT only. Every request (read up to the end of its header) is
//   answered `200 ok` with `Connection: close`, and the connection is closed after the answer.
// - The delay starts at the kernel's receive timestamp of the request (SO_TIMESTAMPNS on a TCP
//   socket), not at the moment this process got round to reading it, so the server's own queueing
//   is not hidden: a late answer shows in its statistics.
// - One epoll loop and one timerfd armed on an absolute CLOCK_REALTIME deadline (nanoseconds) for
//   the earliest pending answer: no per-connection timers, no millisecond rounding.
// - `GET /stats` answers at once with the statistics since the previous /stats, one line:
//   `answers N late_us_p50 X late_us_p99 Y late_us_max Z max_open M no_timestamp K`, where
//   `late` is (the time the answer was written) - (arrival + DELAY), and no_timestamp counts
//   requests whose arrival time had to be taken from the clock because the kernel gave none.
//
// A benchmark tool, not part of sonde: Linux only, no dependencies, errors end the process.

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

namespace {

using Nanos = std::int64_t;

Nanos realtime_now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<Nanos>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

struct Connection {
    std::uint64_t generation = 0;
    bool open = false;
    bool answered = false;  // a request was queued; further bytes are ignored
    std::string header;
};

struct Pending {
    Nanos due;
    int fd;
    std::uint64_t generation;
    bool operator>(const Pending& other) const { return due > other.due; }
};

constexpr char kAnswer[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    "Connection: close\r\n\r\nok\n";

class Server {
public:
    Server(int port, Nanos delay) : delay_(delay) {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (listener_ < 0) {
            die("socket");
        }
        const int one = 1;
        setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        // Setting it on the listener turns on receive timestamps for every packet.
        setsockopt(listener_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            die("bind");
        }
        if (listen(listener_, 65535) != 0) {
            die("listen");
        }
        epoll_ = epoll_create1(EPOLL_CLOEXEC);
        timer_ = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (epoll_ < 0 || timer_ < 0) {
            die("epoll/timerfd");
        }
        watch(listener_, EPOLLIN);
        watch(timer_, EPOLLIN);
    }

    void run() {
        std::vector<epoll_event> events(256);
        for (;;) {
            const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                die("epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                const int fd = events[i].data.fd;
                if (fd == listener_) {
                    accept_all();
                } else if (fd == timer_) {
                    std::uint64_t expirations = 0;
                    (void)!read(timer_, &expirations, sizeof expirations);
                } else {
                    on_readable(fd);
                }
                // Answers that are due go out every few events too, so that a long batch of
                // accepts and reads cannot hold them back.
                if (i % 32 == 31) {
                    answer_due();
                }
            }
            answer_due();
        }
    }

private:
    void watch(int fd, std::uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
            die("epoll_ctl");
        }
    }

    Connection& conn(int fd) {
        if (static_cast<std::size_t>(fd) >= connections_.size()) {
            connections_.resize(static_cast<std::size_t>(fd) + 1024);
        }
        return connections_[static_cast<std::size_t>(fd)];
    }

    void accept_all() {
        for (;;) {
            const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    return;
                }
                if (errno == EMFILE || errno == ENFILE) {
                    std::fprintf(stderr, "delay_server: out of descriptors\n");
                    return;
                }
                die("accept4");
            }
            const int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            Connection& c = conn(fd);
            c.generation = ++generation_;
            c.open = true;
            c.answered = false;
            c.header.clear();
            ++open_;
            max_open_ = std::max(max_open_, open_);
            watch(fd, EPOLLIN | EPOLLRDHUP);
        }
    }

    void close_conn(int fd) {
        Connection& c = conn(fd);
        if (c.open) {
            c.open = false;
            --open_;
            close(fd);  // also removes it from the epoll set
        }
    }

    void on_readable(int fd) {
        Connection& c = conn(fd);
        if (!c.open) {
            return;
        }
        char buf[4096];
        alignas(cmsghdr) char control[256];
        for (;;) {
            iovec iov{buf, sizeof buf};
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            const ssize_t got = recvmsg(fd, &msg, 0);
            if (got == 0) {
                close_conn(fd);  // the client left; a pending answer is dropped by generation
                return;
            }
            if (got < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                if (errno == EINTR) {
                    continue;
                }
                close_conn(fd);
                return;
            }
            if (c.answered) {
                continue;
            }
            Nanos arrival = 0;
            for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                    timespec ts{};
                    std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                    arrival = static_cast<Nanos>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
                }
            }
            c.header.append(buf, static_cast<std::size_t>(got));
            if (c.header.find("\r\n\r\n") == std::string::npos) {
                if (c.header.size() > 65536) {
                    close_conn(fd);
                    return;
                }
                continue;
            }
            if (arrival == 0) {
                arrival = realtime_now();
                ++no_timestamp_;
            }
            c.answered = true;
            if (c.header.rfind("GET /stats ", 0) == 0) {
                send_stats(fd);
                return;
            }
            c.header.clear();
            c.header.shrink_to_fit();
            pending_.push({arrival + delay_, fd, c.generation});
            arm();
        }
    }

    void arm() {
        if (pending_.empty() || pending_.top().due == armed_for_) {
            return;
        }
        armed_for_ = pending_.top().due;
        itimerspec spec{};
        spec.it_value.tv_sec = armed_for_ / 1000000000;
        spec.it_value.tv_nsec = armed_for_ % 1000000000;
        if (timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
            die("timerfd_settime");
        }
    }

    void answer_due() {
        Nanos now = realtime_now();
        while (!pending_.empty() && pending_.top().due <= now) {
            const Pending p = pending_.top();
            pending_.pop();
            Connection& c = conn(p.fd);
            if (!c.open || c.generation != p.generation) {
                continue;
            }
            now = realtime_now();
            const ssize_t sent = send(p.fd, kAnswer, sizeof kAnswer - 1, MSG_NOSIGNAL);
            if (sent == static_cast<ssize_t>(sizeof kAnswer - 1)) {
                late_ns_.push_back(now - p.due);
            }
            close_conn(p.fd);
        }
        armed_for_ = 0;
        arm();
    }

    void send_stats(int fd) {
        std::vector<Nanos> late;
        late.swap(late_ns_);
        std::sort(late.begin(), late.end());
        auto quantile = [&](double q) -> double {
            if (late.empty()) {
                return 0;
            }
            const auto index = static_cast<std::size_t>(q * static_cast<double>(late.size() - 1));
            return static_cast<double>(late[index]) / 1000.0;
        };
        char body[512];
        const int len = std::snprintf(
            body, sizeof body,
            "answers %zu late_us_p50 %.1f late_us_p99 %.1f late_us_max %.1f max_open %ld "
            "no_timestamp %lu\n",
            late.size(), quantile(0.5), quantile(0.99), late.empty() ? 0.0 : quantile(1.0),
            max_open_, no_timestamp_);
        max_open_ = open_;
        no_timestamp_ = 0;
        std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                             std::to_string(len) + "\r\nConnection: close\r\n\r\n" +
                             std::string(body, static_cast<std::size_t>(len));
        (void)!send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        close_conn(fd);
    }

    Nanos delay_;
    int listener_ = -1;
    int epoll_ = -1;
    int timer_ = -1;
    Nanos armed_for_ = 0;
    std::uint64_t generation_ = 0;
    long open_ = 0;
    long max_open_ = 0;
    unsigned long no_timestamp_ = 0;
    std::vector<Connection> connections_;
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
    std::vector<Nanos> late_ns_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: delay_server PORT [DELAY_MS=50]\n");
        return 2;
    }
    const int port = std::atoi(argv[1]);
    const double delay_ms = argc > 2 ? std::atof(argv[2]) : 50.0;
    signal(SIGPIPE, SIG_IGN);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    Server server(port, static_cast<Nanos>(delay_ms * 1e6));
    server.run();
}

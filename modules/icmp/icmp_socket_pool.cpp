#include "modules/icmp/icmp_socket_pool.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "modules/icmp/icmp_packet.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/fd_budget.hpp"

namespace sonde::modules::icmp {
namespace {

// At most this many datagrams are read per readable event, so that one busy socket cannot
// starve the rest of the loop.
constexpr int kMaxReadsPerEvent = 64;
constexpr std::size_t kReceiveBufferSize = 65536;

std::string errno_text(int error) {
    return std::strerror(error);
}

bool is_permission_error(int error) {
    return error == EPERM || error == EACCES;
}

struct OpenedSocket {
    int fd = -1;
    IcmpSocketKind kind = IcmpSocketKind::Raw;
};

// A socket past the descriptors left for probes (prober/net/fd_budget.hpp) is closed at once:
// a pool socket lives as long as sonde, and must not take one kept for serving.
Result<OpenedSocket> admitted(OpenedSocket opened) {
    if (net::FdBudget::admit(opened.fd) != 0) {
        ::close(opened.fd);
        return unexpected("socket: too many open files");
    }
    return opened;
}

// Datagram first (unprivileged where net.ipv4.ping_group_range allows, which it also does for
// IPv6), raw second.
Result<OpenedSocket> open_icmp_socket(int family) {
    const int protocol =
        family == AF_INET6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd >= 0) {
        return admitted(OpenedSocket{fd, IcmpSocketKind::Datagram});
    }
    const int datagram_error = errno;
    fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd >= 0) {
        return admitted(OpenedSocket{fd, IcmpSocketKind::Raw});
    }
    const int raw_error = errno;
    if (is_permission_error(raw_error) &&
        (is_permission_error(datagram_error) || datagram_error == EPROTONOSUPPORT)) {
        return unexpected(
            "socket: operation not permitted; run as root, grant CAP_NET_RAW, or allow the "
            "group in net.ipv4.ping_group_range");
    }
    return unexpected("socket: " + errno_text(raw_error));
}

Result<void> set_int_option(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        return unexpected(std::string("setsockopt ") + what + ": " + errno_text(errno));
    }
    return {};
}

// Applies the options; returns whether the reply hop limit will be delivered.
Result<bool> configure_socket(int fd, IcmpSocketKind kind, const IcmpSocketOptions& options) {
    // One socket carries every concurrent ping: a burst of replies must fit in its receive
    // buffer, or the kernel drops them and those probes time out. Ask for 4 MiB (the
    // unprivileged call is capped by net.core.rmem_max; as root FORCE goes past it).
    const int receive_buffer = 4 * 1024 * 1024;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer) != 0) {
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    const bool v6 = options.family == AF_INET6;
    if (kind == IcmpSocketKind::Raw) {
        // Let only echo replies through: a raw socket otherwise gets a copy of every ICMP
        // message the host receives. Matching still checks the type itself.
        if (v6) {
            icmp6_filter filter{};
            ICMP6_FILTER_SETBLOCKALL(&filter);
            ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
            if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0) {
                return unexpected("setsockopt ICMP6_FILTER: " + errno_text(errno));
            }
        } else {
            icmp_filter filter{};
            filter.data = ~(1U << ICMP_ECHOREPLY);
            if (::setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter) != 0) {
                return unexpected("setsockopt ICMP_FILTER: " + errno_text(errno));
            }
        }
    }
    if (options.source) {
        const auto address = options.source->to_sockaddr(0);
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&address),
                   options.source->sockaddr_length()) != 0) {
            return unexpected("bind " + options.source->to_string() + ": " + errno_text(errno));
        }
    }
    if (options.ttl > 0) {
        auto set = v6 ? set_int_option(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, options.ttl,
                                       "IPV6_UNICAST_HOPS")
                      : set_int_option(fd, IPPROTO_IP, IP_TTL, options.ttl, "IP_TTL");
        if (!set) {
            return unexpected(set.error());
        }
    }
    if (!v6 && options.dont_fragment) {
        auto set =
            set_int_option(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO, "IP_MTU_DISCOVER");
        if (!set) {
            return unexpected(set.error());
        }
    }
    // Without the hop limit the probe still works; the metric is then left out, as the exporter
    // does when it cannot set the control message flag.
    const int on = 1;
    const bool hop_limit =
        v6 ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) == 0
           : ::setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on) == 0;
    return hop_limit;
}

std::optional<net::IpAddress> peer_address(const sockaddr_storage& storage) {
    if (storage.ss_family == AF_INET) {
        return net::IpAddress::from_v4(reinterpret_cast<const sockaddr_in&>(storage).sin_addr);
    }
    if (storage.ss_family == AF_INET6) {
        return net::IpAddress::from_v6(reinterpret_cast<const sockaddr_in6&>(storage).sin6_addr);
    }
    return std::nullopt;
}

std::optional<int> hop_limit_of(msghdr& message) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        const bool ttl = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL;
        const bool hops = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT;
        if ((ttl || hops) && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int value = 0;
            std::memcpy(&value, CMSG_DATA(c), sizeof value);
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace

const char* socket_kind_name(IcmpSocketKind kind) {
    return kind == IcmpSocketKind::Datagram ? "datagram" : "raw";
}

bool IcmpSocketOptions::operator==(const IcmpSocketOptions& other) const {
    return family == other.family && source == other.source && ttl == other.ttl &&
           dont_fragment == other.dont_fragment;
}

// One shared socket and the echoes waiting on it. Owned by the pool; its poll handle's data
// points at it.
class IcmpSocket {
public:
    IcmpSocket(IcmpSocketPool& pool, IcmpSocketOptions options, OpenedSocket opened)
        : pool_(pool), options_(std::move(options)), fd_(opened.fd), kind_(opened.kind) {}

    ~IcmpSocket() {
        for (auto& [key, echo] : pending_) {
            echo->socket_ = nullptr;
        }
        // uv_close() stops polling at once, so the descriptor may be closed right after it.
        poll_.reset();
        ::close(fd_);
    }
    IcmpSocket(const IcmpSocket&) = delete;
    IcmpSocket& operator=(const IcmpSocket&) = delete;

    Result<void> start(Loop& loop) {
        const int rc =
            poll_.init(this, [&](uv_poll_t* poll) { return uv_poll_init(loop.raw(), poll, fd_); });
        if (rc != 0) {
            return unexpected(std::string("uv_poll_init: ") + uv_strerror(rc));
        }
        const int started = uv_poll_start(poll_.get(), UV_READABLE, &IcmpSocket::on_readable);
        if (started != 0) {
            return unexpected(std::string("uv_poll_start: ") + uv_strerror(started));
        }
        return {};
    }

    const IcmpSocketOptions& options() const { return options_; }
    IcmpSocketKind kind() const { return kind_; }
    bool idle() const { return pending_.empty(); }

    // Raw sockets keep our identifier; datagram sockets do not, so only the sequence counts.
    std::uint32_t key_for(std::uint16_t id, std::uint16_t sequence) const {
        return kind_ == IcmpSocketKind::Raw ? (std::uint32_t{id} << 16) | sequence : sequence;
    }
    bool in_use(std::uint32_t key) const { return pending_.count(key) != 0; }

    void add(IcmpEcho& echo) {
        echo.socket_ = this;
        pending_.emplace(echo.key_, &echo);
    }

    void remove(IcmpEcho& echo) {
        pending_.erase(echo.key_);
        echo.socket_ = nullptr;
        if (pending_.empty()) {
            pool_.schedule_idle_close();
        }
    }

    Result<void> send(const IcmpEcho& echo) {
        const auto address = echo.destination_.to_sockaddr(0);
        const auto sent = ::sendto(fd_, echo.packet_.data(), echo.packet_.size(), 0,
                                   reinterpret_cast<const sockaddr*>(&address),
                                   echo.destination_.sockaddr_length());
        if (sent < 0) {
            return unexpected("sendto " + echo.destination_.to_string() + ": " + errno_text(errno));
        }
        return {};
    }

private:
    static void on_readable(uv_poll_t* poll, int status, int /*events*/) noexcept {
        auto* self = owner_of<IcmpSocket>(poll);
        if (self == nullptr || status < 0) {
            // A poll error leaves the waiting pings to the runner's deadline.
            return;
        }
        self->drain(uv_hrtime());
    }

    void drain(std::uint64_t received_ns) {
        auto& buffer = pool_.receive_buffer_;
        for (int i = 0; i < kMaxReadsPerEvent; ++i) {
            sockaddr_storage from{};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int)) * 4];
            iovec iov{buffer.data(), buffer.size()};
            msghdr message{};
            message.msg_name = &from;
            message.msg_namelen = sizeof from;
            message.msg_iov = &iov;
            message.msg_iovlen = 1;
            message.msg_control = control;
            message.msg_controllen = sizeof control;
            const auto n = ::recvmsg(fd_, &message, MSG_DONTWAIT);
            if (n < 0) {
                return;  // EAGAIN: drained; anything else is left to the deadline too
            }
            deliver(std::string_view(buffer.data(), static_cast<std::size_t>(n)), from,
                    hop_limit_of(message), received_ns);
        }
    }

    void deliver(std::string_view packet, const sockaddr_storage& from_storage,
                 std::optional<int> hop_limit, std::uint64_t received_ns) {
        const bool with_ip_header = kind_ == IcmpSocketKind::Raw && options_.family == AF_INET;
        const auto reply = parse_echo_reply(options_.family, with_ip_header, packet);
        const auto from = peer_address(from_storage);
        if (!reply || !from) {
            return;
        }
        const auto it = pending_.find(key_for(reply->id, reply->sequence));
        if (it == pending_.end()) {
            return;  // a foreign identifier, an unknown or an already answered sequence
        }
        IcmpEcho& echo = *it->second;
        const EchoExpectation want{echo.destination_, echo.id_, echo.sequence_, echo.payload_,
                                   kind_ == IcmpSocketKind::Datagram};
        if (echo.sent_ns_ == 0 || !reply_matches(want, *from, *reply)) {
            return;
        }
        // Unregister before the callback, which may destroy the echo (or its session). The
        // callback is moved out so that it outlives the echo while it runs.
        auto callback = std::move(echo.on_reply_);
        remove(echo);
        callback(IcmpEchoReply{received_ns, hop_limit});
    }

    IcmpSocketPool& pool_;
    IcmpSocketOptions options_;
    int fd_;
    IcmpSocketKind kind_;
    std::unordered_map<std::uint32_t, IcmpEcho*> pending_;
    UvHandle<uv_poll_t> poll_;
};

IcmpEcho::~IcmpEcho() {
    if (socket_ != nullptr) {
        socket_->remove(*this);
    }
}

Result<void> IcmpEcho::send() {
    if (socket_ == nullptr) {
        return unexpected("the ICMP socket was closed");
    }
    sent_ns_ = uv_hrtime();
    return socket_->send(*this);
}

IcmpSocketPool::IcmpSocketPool(Loop& loop)
    : loop_(loop), random_(std::random_device{}()), receive_buffer_(kReceiveBufferSize) {
    // Start the sequence at a random value, so that restarted probers are not in step (#411).
    next_sequence_ = static_cast<std::uint16_t>(random_() & 0xffff);
}

IcmpSocketPool::~IcmpSocketPool() = default;

std::uint16_t IcmpSocketPool::random_id() {
    return static_cast<std::uint16_t>(random_() & 0xffff);
}

std::optional<IcmpSocketKind> IcmpSocketPool::socket_kind(const IcmpSocketOptions& options) const {
    for (const auto& socket : sockets_) {
        if (socket->options() == options) {
            return socket->kind();
        }
    }
    return std::nullopt;
}

Result<std::unique_ptr<IcmpEcho>> IcmpSocketPool::prepare_echo(const IcmpSocketOptions& requested,
                                                               const net::IpAddress& destination,
                                                               std::uint16_t id,
                                                               std::string payload,
                                                               IcmpEcho::ReplyCallback on_reply) {
    IcmpSocketOptions options = requested;
    if (options.family == AF_INET6) {
        options.dont_fragment = false;  // IPv4 only: let such modules share one IPv6 socket
    }
    IcmpSocket* socket = nullptr;
    for (const auto& open : sockets_) {
        if (open->options() == options) {
            socket = open.get();
            break;
        }
    }
    if (socket == nullptr) {
        auto opened = open_icmp_socket(options.family);
        if (!opened) {
            return unexpected(opened.error());
        }
        auto created = std::make_unique<IcmpSocket>(*this, options, *opened);
        auto configured = configure_socket(opened->fd, opened->kind, options);
        if (!configured) {
            return unexpected(configured.error());
        }
        auto started = created->start(loop_);
        if (!started) {
            return unexpected(started.error());
        }
        socket = created.get();
        sockets_.push_back(std::move(created));
    }

    // A sequence number not in use on this socket; the counter is shared by all sockets.
    std::optional<std::uint16_t> sequence;
    for (std::uint32_t tries = 0; tries <= 0xffff; ++tries) {
        const auto candidate = next_sequence_++;
        if (!socket->in_use(socket->key_for(id, candidate))) {
            sequence = candidate;
            break;
        }
    }
    if (!sequence) {
        schedule_idle_close();
        return unexpected("no free ICMP sequence number: 65536 pings in flight on one socket");
    }

    std::unique_ptr<IcmpEcho> echo(new IcmpEcho());
    echo->key_ = socket->key_for(id, *sequence);
    echo->destination_ = destination;
    echo->id_ = id;
    echo->sequence_ = *sequence;
    echo->kind_ = socket->kind();
    echo->packet_ = build_echo_request(options.family, id, *sequence, payload);
    echo->payload_ = std::move(payload);
    echo->on_reply_ = std::move(on_reply);
    socket->add(*echo);
    return echo;
}

void IcmpSocketPool::schedule_idle_close() {
    if (idle_close_posted_) {
        return;
    }
    idle_close_posted_ = true;
    // Not now: the socket may be inside its own poll callback. A ping prepared before the task
    // runs keeps its socket open.
    loop_.post(alive_, [this] { close_idle(); });
}

void IcmpSocketPool::close_idle() {
    idle_close_posted_ = false;
    std::erase_if(sockets_, [](const auto& socket) { return socket->idle(); });
}

}  // namespace sonde::modules::icmp

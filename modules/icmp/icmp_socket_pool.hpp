#pragma once

// IcmpSocketPool: ICMP sockets shared by every ping on one loop.
//
// The exporter opens a socket per probe; at thousands of probes that is thousands of raw
// sockets, each of which gets a copy of every ICMP packet the host receives. The pool instead
// keeps one socket per (address family, source address, ttl, dont_fragment), shared by all the
// pings in flight with those settings, and hands each reply to the ping that waits for it:
//  - raw sockets carry our identifier, so a reply is looked up by (identifier, sequence);
//  - datagram ("ping") sockets get their identifier rewritten by the kernel, so a reply is
//    looked up by sequence alone; both then check source address and payload (reply_matches).
// Replies nobody waits for (foreign identifiers, unknown or already answered sequences, other
// hosts' ICMP seen by raw sockets) are dropped. A socket is closed on the loop iteration after
// its last ping went away.
//
// Sockets: an unprivileged SOCK_DGRAM/IPPROTO_ICMP(V6) socket when net.ipv4.ping_group_range
// allows it, else SOCK_RAW (root or CAP_NET_RAW), else a clear error. dont_fragment sets
// IP_MTU_DISCOVER=IP_PMTUDISC_DO on IPv4, which makes the kernel set DF and refuse to fragment;
// unlike the exporter's hand-built IP header (IP_HDRINCL) it works on datagram sockets too, keeps
// the kernel's choice of source address and keeps the ttl option working. ttl sets IP_TTL or
// IPV6_UNICAST_HOPS (0 leaves the default); the reply's hop limit comes from IP_RECVTTL /
// IPV6_RECVHOPLIMIT control messages.
//
// Ownership and loop affinity: one pool per Loop, created, used and destroyed on its thread by
// whoever runs probes; it must outlive the echoes it handed out (if it does not, they are
// detached and never answered). Not thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/net/ip_address.hpp"

namespace sonde::modules::icmp {

enum class IcmpSocketKind { Datagram, Raw };

const char* socket_kind_name(IcmpSocketKind kind);  // "datagram" or "raw"

struct IcmpSocketOptions {
    int family = AF_INET;                  // AF_INET or AF_INET6
    std::optional<net::IpAddress> source;  // bound when set
    int ttl = 64;                          // 0 leaves the kernel default
    bool dont_fragment = false;            // IPv4 only; ignored for IPv6, as by the exporter

    bool operator==(const IcmpSocketOptions& other) const;
};

struct IcmpEchoReply {
    std::uint64_t received_ns = 0;  // uv_hrtime() when the socket became readable
    std::optional<int> hop_limit;   // only when the kernel delivered the control message
};

class IcmpSocket;
class IcmpSocketPool;

// One echo request, registered with its socket from prepare_echo() until it is answered or
// destroyed. Destroying it unregisters it (the callback then never runs); it may be destroyed
// at any time, including inside its own callback.
class IcmpEcho {
public:
    using ReplyCallback = std::function<void(const IcmpEchoReply&)>;

    ~IcmpEcho();
    IcmpEcho(const IcmpEcho&) = delete;
    IcmpEcho& operator=(const IcmpEcho&) = delete;

    std::uint16_t id() const { return id_; }
    std::uint16_t sequence() const { return sequence_; }
    IcmpSocketKind kind() const { return kind_; }

    // Sends the request. The reply callback runs at most once, on the loop, never inside send().
    [[nodiscard]] Result<void> send();
    std::uint64_t sent_ns() const { return sent_ns_; }

private:
    friend class IcmpSocket;
    friend class IcmpSocketPool;
    IcmpEcho() = default;

    IcmpSocket* socket_ = nullptr;  // null once answered, or when the pool went away
    std::uint32_t key_ = 0;
    net::IpAddress destination_;
    std::uint16_t id_ = 0;
    std::uint16_t sequence_ = 0;
    IcmpSocketKind kind_ = IcmpSocketKind::Raw;
    std::string payload_;
    std::string packet_;
    std::uint64_t sent_ns_ = 0;
    ReplyCallback on_reply_;
};

class IcmpSocketPool {
public:
    explicit IcmpSocketPool(Loop& loop);
    ~IcmpSocketPool();
    IcmpSocketPool(const IcmpSocketPool&) = delete;
    IcmpSocketPool& operator=(const IcmpSocketPool&) = delete;

    // Finds or opens the socket for options, gives the echo a sequence number unused on that
    // socket and builds the request. Errors: the socket could not be opened or configured.
    [[nodiscard]] Result<std::unique_ptr<IcmpEcho>> prepare_echo(const IcmpSocketOptions& options,
                                                                 const net::IpAddress& destination,
                                                                 std::uint16_t id,
                                                                 std::string payload,
                                                                 IcmpEcho::ReplyCallback on_reply);

    // A random identifier for a new probe (the exporter's per-probe random ID, #1537).
    std::uint16_t random_id();

    std::size_t socket_count() const { return sockets_.size(); }
    // The kind of the open socket for options; nullopt when none is open.
    std::optional<IcmpSocketKind> socket_kind(const IcmpSocketOptions& options) const;

private:
    friend class IcmpSocket;
    void schedule_idle_close();
    void close_idle();

    Loop& loop_;
    std::vector<std::unique_ptr<IcmpSocket>> sockets_;  // few: one per distinct option set
    std::mt19937 random_;
    std::uint16_t next_sequence_ = 0;  // shared by all sockets, from a random start
    std::vector<char> receive_buffer_;
    bool idle_close_posted_ = false;
    Alive alive_;
};

}  // namespace sonde::modules::icmp

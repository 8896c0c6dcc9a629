#pragma once

// TcpStream: one TCP connection on the Loop (client side via connect(), or server side via
// accept_from()), with byte-stream reads and queued writes; or, through connect_unix(), a unix
// domain stream socket with the same interface (the unix prober's dialog and TLS are the tcp
// prober's).
//
// Ownership: the creator owns the TcpStream; destroying it closes the socket at once and no
// callback of it runs afterwards (pending writes' callbacks are dropped). Callbacks may destroy
// the TcpStream from inside themselves only through loop.defer_delete(); callers that must
// react by destroying it should defer.
//
// Timing: on_connected receives the uv_hrtime() taken first thing in libuv's callback, so
// phase times are those of the event, not of when user code finally ran.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/ip_address.hpp"

namespace sonde::net {

class TcpStream {
public:
    // status: 0 or a libuv error (UV_ECONNREFUSED, ...); at_ns: uv_hrtime() of the event.
    using ConnectCallback = std::function<void(int status, std::uint64_t at_ns)>;
    // Data as it arrives. The view is valid only during the call.
    using DataCallback = std::function<void(std::string_view data)>;
    // The read side ended: UV_EOF for an orderly close by the peer, else the libuv error.
    using EndCallback = std::function<void(int status)>;
    using WriteCallback = std::function<void(int status)>;

    explicit TcpStream(Loop& loop);
    ~TcpStream();
    TcpStream(const TcpStream&) = delete;
    TcpStream& operator=(const TcpStream&) = delete;

    // Client side. bind_to (optional source address) is applied before connecting.
    // Returns an error if the connect could not even be started (bad source address, EMFILE...);
    // otherwise on_connected runs exactly once later.
    Result<void> connect(const IpAddress& address, std::uint16_t port, const IpAddress* bind_to,
                         ConnectCallback on_connected);

    // A unix domain stream socket at path instead (the unix prober): the same contract.
    Result<void> connect_unix(const std::string& path, ConnectCallback on_connected);
    // Server side: accepts the next pending connection of a listening uv_tcp_t.
    Result<void> accept_from(uv_stream_t* server);

    // Starts delivering data; on_end runs at most once, after which no more data comes.
    void start_reading(DataCallback on_data, EndCallback on_end);
    void stop_reading();

    // Queues bytes for sending; done (optional) runs once when written or failed.
    void write(std::string data, WriteCallback done = {});

    // Runs done once every write queued so far has been handed to the kernel (at once, through
    // the loop, when nothing is queued): lets a conversation end without cutting its last
    // message, since closing the stream discards queued writes.
    void when_flushed(WriteCallback done);

    // Half-closes the write side after queued writes (HTTP/1.0 style close-delimited replies).
    void shutdown_write();

    bool is_open() const { return static_cast<bool>(tcp_) || static_cast<bool>(pipe_); }
    std::size_t write_queue_bytes() const;
    // Closes the socket now (same as destroying, but the object stays usable for queries).
    void close();

    // The peer's address as "ip:port" ("[ip]:port" for IPv6); empty if unknown.
    std::string peer_name() const;

private:
    struct WriteRequest;
    static void on_connect(uv_connect_t* req, int status) noexcept;
    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
    static void on_write(uv_write_t* req, int status) noexcept;

    Loop& loop_;
    uv_stream_t* stream() const;  // whichever of tcp_ and pipe_ is open

    UvHandle<uv_tcp_t> tcp_;
    UvHandle<uv_pipe_t> pipe_;  // connect_unix()
    ConnectCallback on_connected_;
    DataCallback on_data_;
    EndCallback on_end_;
    std::size_t queued_bytes_ = 0;
    WriteCallback on_flushed_;
    Alive alive_;  // last member: destroyed first, so posted work sees the stream gone
};

}  // namespace sonde::net

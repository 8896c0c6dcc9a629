#include "prober/net/tcp_stream.hpp"

#include <cerrno>
#include <utility>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prober/core/uv_error.hpp"
#include "prober/net/fd_budget.hpp"

namespace sonde::net {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;

}  // namespace

// A write in flight: owns its bytes until libuv is done with them. It reaches the stream
// through req.handle->data, which is null once the stream has gone; libuv runs cancelled
// writes' callbacks before the handle's close callback, so the request is always freed.
struct TcpStream::WriteRequest {
    uv_write_t req{};
    std::string data;
    WriteCallback done;
};

TcpStream::TcpStream(Loop& loop) : loop_(loop) {
}

TcpStream::~TcpStream() {
    close();
}

void TcpStream::close() {
    tcp_.reset();
    pipe_.reset();
}

uv_stream_t* TcpStream::stream() const {
    return tcp_ ? tcp_.as_stream() : pipe_.as_stream();
}

Result<void> TcpStream::connect_unix(const std::string& path, ConnectCallback on_connected) {
    // libuv 1.44 copies the path into sun_path and silently cuts what does not fit, which would
    // connect to another path; Go refuses such a path with EINVAL.
    if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path) ||
        path.find('\0') != std::string::npos) {
        return unexpected(uv_error_text(UV_EINVAL));
    }
    int rc = pipe_.init(this, [this](uv_pipe_t* p) { return uv_pipe_init(loop_.raw(), p, 0); });
    if (rc != 0) {
        return unexpected("socket: " + uv_error_text(rc));
    }
    // The socket is made here, not by uv_pipe_connect (which would connect at once), so that
    // the descriptor budget refuses it before the server sees a connection: see fd_budget.hpp.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        const int error = uv_translate_sys_error(errno);
        pipe_.reset();
        return unexpected("socket: " + uv_error_text(error));
    }
    rc = uv_pipe_open(pipe_.get(), fd);
    if (rc != 0) {
        ::close(fd);
        pipe_.reset();
        return unexpected("socket: " + uv_error_text(rc));
    }
    rc = FdBudget::admit(pipe_.as_handle());
    if (rc != 0) {
        pipe_.reset();  // closes the descriptor
        return unexpected("socket: " + uv_error_text(rc));
    }
    auto req = std::make_unique<uv_connect_t>();
    // Every connect failure comes through the callback, on a later iteration.
    uv_pipe_connect(req.get(), pipe_.get(), path.c_str(), &TcpStream::on_connect);
    (void)req.release();  // freed in on_connect
    on_connected_ = std::move(on_connected);
    return {};
}

Result<void> TcpStream::connect(const IpAddress& address, std::uint16_t port,
                                const IpAddress* bind_to, ConnectCallback on_connected) {
    // The socket is created here (not lazily by connect) so that the descriptor budget can
    // refuse it before anything is sent: see fd_budget.hpp.
    const unsigned family = address.is_v4() ? AF_INET : AF_INET6;
    int rc = tcp_.init(
        this, [this, family](uv_tcp_t* t) { return uv_tcp_init_ex(loop_.raw(), t, family); });
    if (rc == 0) {
        rc = FdBudget::admit(tcp_.as_handle());
    }
    if (rc != 0) {
        tcp_.reset();
        return unexpected("socket: " + uv_error_text(rc));
    }
    if (bind_to != nullptr) {
        const auto local = bind_to->to_sockaddr(0);
        rc = uv_tcp_bind(tcp_.get(), reinterpret_cast<const sockaddr*>(&local), 0);
        if (rc != 0) {
            tcp_.reset();
            return unexpected("bind " + bind_to->to_string() + ": " + uv_error_text(rc));
        }
    }
    const auto remote = address.to_sockaddr(port);
    auto req = std::make_unique<uv_connect_t>();
    rc = uv_tcp_connect(req.get(), tcp_.get(), reinterpret_cast<const sockaddr*>(&remote),
                        &TcpStream::on_connect);
    if (rc != 0) {
        tcp_.reset();
        return unexpected("connect: " + uv_error_text(rc));
    }
    (void)req.release();  // freed in on_connect
    on_connected_ = std::move(on_connected);
    return {};
}

void TcpStream::on_connect(uv_connect_t* req, int status) noexcept {
    const std::uint64_t at = uv_hrtime();
    auto* self = static_cast<TcpStream*>(req->handle->data);
    delete req;
    if (self == nullptr || !self->on_connected_) {
        return;
    }
    auto callback = std::move(self->on_connected_);
    callback(status, at);
}

Result<void> TcpStream::accept_from(uv_stream_t* server) {
    int rc = tcp_.init(this, [this](uv_tcp_t* t) { return uv_tcp_init(loop_.raw(), t); });
    if (rc != 0) {
        return unexpected("socket: " + uv_error_text(rc));
    }
    rc = uv_accept(server, tcp_.as_stream());
    if (rc != 0) {
        tcp_.reset();
        return unexpected("accept: " + uv_error_text(rc));
    }
    return {};
}

void TcpStream::start_reading(DataCallback on_data, EndCallback on_end) {
    on_data_ = std::move(on_data);
    on_end_ = std::move(on_end);
    if (is_open()) {
        // Restarting replaces the callbacks (a TLS upgrade takes the stream over).
        uv_read_stop(stream());
        const int rc = uv_read_start(stream(), &TcpStream::on_alloc, &TcpStream::on_read);
        if (rc != 0) {
            loop_.post(alive_, [this, rc] {
                // Reported later: callers rely on callbacks never running inside their call.
                if (on_end_) {
                    auto end = std::move(on_end_);
                    end(rc);
                }
            });
        }
    }
}

void TcpStream::stop_reading() {
    if (is_open()) {
        uv_read_stop(stream());
    }
}

void TcpStream::on_alloc(uv_handle_t* handle, std::size_t /*suggested*/, uv_buf_t* buf) noexcept {
    auto* self = static_cast<TcpStream*>(handle->data);
    if (self == nullptr) {
        *buf = uv_buf_init(nullptr, 0);
        return;
    }
    // One buffer for every stream of the thread (of its loop): libuv calls on_alloc and then
    // on_read with the same buffer before it reads any other stream, and data is handed out
    // only for the duration of on_read. A buffer per stream cost 64 KB per open connection:
    // 320 MB for 5,000 probes in flight. Left uninitialised: zeroing 64 KiB cost more than a whole
    // tcp_connect probe's own work.
    thread_local std::unique_ptr<char[]> shared;
    if (!shared) {
        shared = std::make_unique_for_overwrite<char[]>(kReadBufferSize);
    }
    *buf = uv_buf_init(shared.get(), kReadBufferSize);
}

void TcpStream::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* self = static_cast<TcpStream*>(stream->data);
    if (self == nullptr) {
        return;
    }
    if (nread > 0) {
        if (self->on_data_) {
            self->on_data_(std::string_view(buf->base, static_cast<std::size_t>(nread)));
        }
        return;
    }
    if (nread == 0) {
        return;  // EAGAIN: nothing to do
    }
    uv_read_stop(stream);
    if (self->on_end_) {
        auto end = std::move(self->on_end_);
        end(static_cast<int>(nread));
    }
}

void TcpStream::write(std::string data, WriteCallback done) {
    if (!is_open()) {
        if (done) {
            loop_.post(alive_, [done = std::move(done)] { done(UV_EBADF); });
        }
        return;
    }
    auto request = std::make_unique<WriteRequest>();
    request->data = std::move(data);
    request->done = std::move(done);
    const uv_buf_t buf =
        uv_buf_init(request->data.data(), static_cast<unsigned int>(request->data.size()));
    const int rc = uv_write(&request->req, stream(), &buf, 1, &TcpStream::on_write);
    if (rc != 0) {
        if (request->done) {
            loop_.post(alive_, [done = std::move(request->done), rc] { done(rc); });
        }
        return;
    }
    queued_bytes_ += request->data.size();
    (void)request.release();  // freed in on_write
}

void TcpStream::on_write(uv_write_t* req, int status) noexcept {
    std::unique_ptr<WriteRequest> request(reinterpret_cast<WriteRequest*>(req));
    auto* self = static_cast<TcpStream*>(req->handle->data);
    if (self == nullptr) {
        return;
    }
    self->queued_bytes_ -= request->data.size();
    if (request->done) {
        request->done(status);
    }
    // The owner may have been told to go (and closed us) inside `done`; data is then null.
    if (req->handle->data == nullptr) {
        return;
    }
    if ((self->queued_bytes_ == 0 || status != 0) && self->on_flushed_) {
        auto flushed = std::move(self->on_flushed_);
        flushed(status);
    }
}

void TcpStream::when_flushed(WriteCallback done) {
    if (queued_bytes_ == 0) {
        loop_.post(alive_, [done = std::move(done)] { done(0); });
        return;
    }
    on_flushed_ = std::move(done);
}

void TcpStream::shutdown_write() {
    if (!is_open()) {
        return;
    }
    auto* req = new uv_shutdown_t{};
    if (uv_shutdown(req, stream(), [](uv_shutdown_t* r, int) { delete r; }) != 0) {
        delete req;
    }
}

std::size_t TcpStream::write_queue_bytes() const {
    return queued_bytes_;
}

std::string TcpStream::peer_name() const {
    if (pipe_) {
        char path[256];
        std::size_t size = sizeof path;
        return uv_pipe_getpeername(pipe_.get(), path, &size) == 0 ? std::string(path, size)
                                                                  : std::string();
    }
    if (!tcp_) {
        return {};
    }
    sockaddr_storage storage{};
    int len = sizeof storage;
    if (uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
        return {};
    }
    return sockaddr_text(storage);
}

}  // namespace sonde::net

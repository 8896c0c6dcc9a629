#pragma once

// HttpServer: sonde's own HTTP/1.1 server on the Loop (llhttp), for /probe, /metrics & co.
//
// Ownership: the creator owns the server. Each accepted connection is a session owned by the
// server; a session that ends is handed to loop.defer_delete(), never destroyed inside its own
// callback stack. The server itself may be destroyed at any time, even from inside its
// handler: it closes every socket at once and defers freeing its state, so code still on the
// stack stays valid.
//
// Loop affinity: everything (including HttpResponder) is used on the loop's thread only.
//
// Requests on one connection are handled one at a time, in order: the next pipelined request
// is parsed only after the previous response has been written, which bounds the memory a
// client can make the server hold and keeps responses in request order.
//
// Handler contract: handler(request, responder) runs on the loop for each complete request.
// It may call responder.respond() before returning or keep the responder and answer later (a
// probe takes seconds). If the client goes away first, the callback given to
// responder.on_cancel() runs once and a later respond() does nothing. stop() and the destructor
// detach responders *without* running cancel callbacks: whoever stops the server owns the
// shutdown of its in-flight work, and no server callback runs after stop() returns.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/net/http_request.hpp"
#include "prober/net/http_response.hpp"
#include "prober/net/tls_context.hpp"

namespace sonde::net {

struct HttpServerLimits {
    // Request line plus header names and values (Go's MaxHeaderBytes); beyond: 431 and close.
    std::size_t max_header_bytes = 16 * 1024;
    // Request body; beyond (by Content-Length or while reading chunks): 413 and close.
    std::size_t max_body_bytes = 1024 * 1024;
    // From the connection's accept, or from the first byte of a later request, until the end
    // of its headers (Go's ReadHeaderTimeout). A slowloris client is disconnected silently.
    std::uint64_t header_timeout_ms = 15'000;
    // From the end of the headers until the end of the body.
    std::uint64_t body_timeout_ms = 60'000;
    // A keep-alive connection waiting for its next request (Go's IdleTimeout).
    std::uint64_t idle_timeout_ms = 60'000;
    // A response the client does not read.
    std::uint64_t write_timeout_ms = 60'000;
    // Open connections. One more is accepted and closed at once (the client sees a reset or
    // EOF) rather than left in the kernel's backlog, where it would wait without feedback and
    // keep libuv from accepting anything else.
    std::size_t max_connections = 1024;
    // Bodies at least this long are gzipped for clients that accept it.
    std::size_t gzip_min_bytes = 1024;
    // From the accept of a TLS connection until its handshake is done (then the header
    // timeout starts). A client that never finishes it is disconnected.
    std::uint64_t tls_handshake_timeout_ms = 10'000;
};

// Counters for tests and self-metrics.
struct HttpServerStats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_rejected = 0;    // over max_connections
    std::uint64_t requests = 0;                // handed to the handler
    std::uint64_t bad_requests = 0;            // answered 400/413/431 by the server itself
    std::uint64_t timeouts = 0;                // connections closed by a timer
    std::uint64_t cancelled = 0;               // clients gone while their request was in flight
    std::uint64_t tls_handshake_failures = 0;  // TLS connections whose handshake failed
};

namespace detail {
class HttpSession;
}

// The handle a handler answers with. Move-only and not shared: it points at its session and
// the session points back, so either side can die first without a reference count. Answering
// through a responder whose connection is gone is a no-op.
class HttpResponder {
public:
    HttpResponder() = default;
    HttpResponder(HttpResponder&& other) noexcept;
    HttpResponder& operator=(HttpResponder&& other) noexcept;
    HttpResponder(const HttpResponder&) = delete;
    HttpResponder& operator=(const HttpResponder&) = delete;
    // Dropping a responder that never answered answers 500, so the client is not left hanging.
    ~HttpResponder();

    // Sends the response. Only the first call counts; later calls, or calls after the client
    // disconnected or the server stopped, do nothing.
    void respond(HttpResponse response);
    // Sends a response whose body is produced as it goes out, for bodies too big to build at
    // once. source(out) appends the next piece to out and returns false when that piece was
    // the last. It is first called after the headers have been handed to the kernel, then
    // after each piece has, so one piece is rendered per loop iteration at most and the
    // client's reading paces the source. HTTP/1.1 clients get Transfer-Encoding: chunked,
    // HTTP/1.0 ones a body ended by closing the connection; gzip is applied on the fly when
    // the client accepts it. The source is dropped without further calls when the client goes
    // away or the server stops; it is never called for HEAD. Only the first respond counts.
    using BodySource = std::function<bool(std::string& out)>;
    void respond_streaming(HttpResponse head, BodySource source);
    // Registers fn to run once if the client disconnects before respond(). It never runs
    // synchronously inside on_cancel(), nor after respond(), stop() or the server's destruction.
    // Registering when the connection is already gone does nothing: check connected().
    void on_cancel(std::function<void()> fn);
    // True until respond(), a disconnect, or the server's stop.
    bool connected() const { return session_ != nullptr; }

private:
    friend class detail::HttpSession;
    explicit HttpResponder(detail::HttpSession* session) : session_(session) {}
    void detach();

    detail::HttpSession* session_ = nullptr;
};

using HttpHandler = std::function<void(const HttpRequest& request, HttpResponder responder)>;

// An optional gate in front of the handler (--web.config.file): TLS for new connections, a
// check of each request, headers for every response. Used on the loop only; the server keeps
// a shared reference.
class HttpServerGate {
public:
    virtual ~HttpServerGate() = default;
    // The TLS context for a connection being accepted; nullptr serves it as plain HTTP.
    virtual std::shared_ptr<const TlsServerContext> tls_context() = 0;
    // Runs for each request in place of the handler. To let the request through, call
    // pass(request, std::move(responder)), at once or later; later only while
    // responder.connected(), which proves that the server (and so `pass`) is still alive.
    // Otherwise answer through the responder.
    virtual void admit(const HttpRequest& request, HttpResponder responder,
                       const HttpHandler& pass) = 0;
    // Adds the headers every response carries (not those the response sets itself).
    virtual void add_headers(HttpHeaders& headers) = 0;
};

class HttpServer {
public:
    HttpServer(Loop& loop, HttpHandler handler, HttpServerLimits limits = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Starts listening on one address in --web.listen-address syntax: ":9115" (every interface,
    // IPv4 and IPv6 through one dual-stack socket, IPv4 only if the host has no IPv6),
    // "127.0.0.1:0", "[::1]:0", "localhost:9115" (a name is resolved once, here, blocking, and
    // its first IPv4 address is preferred, as Go's net.Listen does). Call once per address.
    Result<void> listen(std::string_view listen_address);

    // Puts a gate in front of the handler for connections accepted from now on; nullptr
    // removes it.
    void set_gate(std::shared_ptr<HttpServerGate> gate);

    // The port of the first listener (what a test bound to port 0 connects to); 0 if none.
    std::uint16_t bound_port() const;
    // Every listener as "ip:port" / "[ip]:port".
    std::vector<std::string> bound_addresses() const;

    // Closes the listeners and every connection now. Pending responders become no-ops, no
    // cancel callback runs, and no callback of the server runs afterwards. Idempotent.
    void stop();

    std::size_t connection_count() const;
    const HttpServerStats& stats() const;

    // The server's state, shared by its sessions; defined in the .cpp.
    struct Core;

private:
    Loop& loop_;
    std::unique_ptr<Core> core_;
};

}  // namespace sonde::net

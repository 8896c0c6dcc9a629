#pragma once

// HttpExchange: ONE HTTP/1.x request on ONE new connection, the building block of the http
// prober (which follows redirects by starting one exchange per hop) and of Kubernetes discovery.
//
// Given where to connect (an already resolved address: name resolution and the exporter's
// address choice belong to the caller), it connects (optionally from a source address), goes
// through an HTTP proxy if asked (absolute-form for plain HTTP, a CONNECT tunnel before TLS),
// handshakes TLS if asked, writes the request with `Connection: close` (keep-alives are off, as
// in the exporter), and reads the answer with llhttp. It never decompresses (the exporter turns
// transparent decompression off) and never follows redirects.
//
// Ownership: the caller owns the exchange (unique_ptr). Destroying it at any moment cancels
// everything: the socket closes at once and no callback runs afterwards. There is no timeout
// inside; the probe runner owns the deadline and destroys the exchange when it passes.
//
// Loop affinity: create, use and destroy on the loop's thread.
//
// Callback contract:
//  - done runs exactly once per start(), on the loop, never inside start(), and is the last
//    thing the exchange does; nothing else of it runs afterwards. It runs from a task posted
//    on the loop, with no code of the exchange below it on the stack, so the owner MAY destroy
//    the exchange inside done.
//  - on_head and on_body_chunk (streaming mode) run from inside socket callbacks. They must not
//    destroy the exchange; to stop early, hand it to loop.defer_delete().
//
// Timing: every timestamp is uv_hrtime() taken at the event (TcpStream's connect callback,
// TlsChannel's handshake completion, the read that carried the first response byte, the read
// that ended the body), so the module computes the exporter's phases from them (§2.3):
//   connect    = connect_done_ns - (the module's dnsDone)
//   tls        = tls_done_ns - tls_start_ns
//   processing = first_byte_ns - conn_ready_ns   (Go's gotConn → GotFirstResponseByte)
//   transfer   = body_done_ns - first_byte_ns
// A timestamp is 0 when its event did not happen.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "prober/core/loop.hpp"
#include "prober/net/http_request.hpp"
#include "prober/net/http_response_parser.hpp"
#include "prober/net/http_response_reader.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"
#include "prober/net/tls_context.hpp"
#include "prober/net/tls_session.hpp"

namespace sonde::net {

class Http2ResponseReader;

// The request to write. The exchange sends the headers in the order given, except that it
// owns the framing: it drops any Content-Length, Transfer-Encoding and Connection given here
// and writes its own Content-Length (when there is a body, or for POST, PUT and PATCH, as Go
// does) and `Connection: close`. Host must be among the headers (the exporter's Host is the
// original `host[:port]`, not the address connected to); without one, "ip:port" is sent.
struct HttpClientRequest {
    std::string method = "GET";
    std::string target = "/";  // origin-form: the absolute path and query, "/a/b?c=d"
    HttpHeaders headers;
    std::string body;
};

// The bytes of a request as written on the wire. absolute_prefix, when not empty
// ("http://host:port"), turns the target into absolute-form for an HTTP proxy.
std::string encode_request(const HttpClientRequest& request, std::string_view absolute_prefix = {},
                           const HttpHeaders* extra_headers = nullptr);

// The proxy an exchange goes through. The exchange connects to the proxy (the address and port
// of HttpExchangeOptions are the proxy's), then:
//  - plain HTTP: writes the request in absolute-form, `GET http://authority/path HTTP/1.1`,
//    with Proxy-Authorization when the proxy URL had userinfo;
//  - TLS: sends `CONNECT authority HTTP/1.1` with Proxy-Authorization and connect_headers,
//    and on a 2xx answer handshakes TLS with the origin through the tunnel. Any other answer
//    fails the exchange with the proxy's status in the reason.
struct HttpProxyOptions {
    std::string authority;  // the origin's "host:port" ("[v6]:port"), as the proxy should reach it
    // From the proxy URL's userinfo (Go's url.User): sent as Basic credentials when present.
    std::optional<std::string> username;
    std::string password;
    // proxy_connect_header: sent with CONNECT only, each value as its own field.
    HttpHeaders connect_headers;
};

struct HttpExchangeLimits {
    // Status line plus header names and values of the response.
    std::size_t max_header_bytes = 1024 * 1024;
    // Buffered mode: the body bytes kept. The http module passes body_size_limit when it is set
    // and smaller; 64 MiB bounds the memory of one probe against an endless or huge body while
    // being far above what a health endpoint returns. Exceeding it fails with BodyTooLarge.
    // Ignored in streaming mode, where nothing accumulates.
    std::size_t max_body_bytes = 64 * 1024 * 1024;
};

// Which HTTP version the exchange speaks (Go's transport with ForceAttemptHTTP2, for the first).
enum class Http2Mode {
    // TLS offers "h2" and "http/1.1" by ALPN and speaks what the server picks; plain HTTP and
    // HTTP proxies' absolute-form stay HTTP/1.1 (no h2c: the exporter has none).
    Alpn,
    // HTTP/1.1 only (enable_http2: false; Kubernetes discovery, OAuth2 token requests).
    Off,
    // HTTP/2 or nothing (gRPC): prior knowledge on plain connections, and over TLS only "h2" is
    // offered; a server that does not select it fails the exchange.
    Required,
};

struct HttpExchangeOptions {
    IpAddress address;  // the origin's, or the proxy's when proxy is set
    std::uint16_t port = 0;
    std::optional<IpAddress> source;  // bind to this local address before connecting
    // TLS when set: the module's context; server_name is what TlsSession::client() takes as the
    // target host (the context's own server_name, if any, wins there), used for SNI and
    // certificate verification.
    std::shared_ptr<const TlsClientContext> tls;
    std::string server_name;
    std::optional<HttpProxyOptions> proxy;
    Http2Mode http2 = Http2Mode::Off;
    HttpExchangeLimits limits;
    // The request is a HEAD: the answer has headers only, whatever its Content-Length says.
    // Derived from the method when not set explicitly.
    std::optional<bool> head_request;

    // Streaming mode when on_body_chunk is set: body bytes go to it as they are parsed (no
    // overall cap, nothing buffered; response().body stays empty). on_head, when set, runs
    // once with the final response's head before any chunk.
    std::function<void(const HttpResponseHead& head)> on_head;
    std::function<void(std::string_view chunk)> on_body_chunk;
};

enum class HttpErrorKind {
    Connect,          // the TCP connect (to the origin or the proxy) failed
    Proxy,            // the proxy refused or broke the CONNECT
    Tls,              // the handshake failed (verification included)
    Protocol,         // the response is not HTTP llhttp or nghttp2 accepts
    HeadersTooLarge,  // over max_header_bytes
    BodyTooLarge,     // over max_body_bytes (buffered mode)
    PeerClosed,       // EOF or reset before the response was complete
    Internal,         // could not even start (no socket, bad source address)
};

std::string_view http_error_kind_name(HttpErrorKind kind);

struct HttpError {
    HttpErrorKind kind;
    std::string message;  // for a person: "connect to 127.0.0.1:1: ECONNREFUSED: ..."
};

// When things happened; see the header comment for the phases.
struct HttpExchangeTimes {
    std::uint64_t start_ns = 0;         // start() was called
    std::uint64_t connect_done_ns = 0;  // TCP connected (to the proxy when there is one)
    std::uint64_t tunnel_done_ns = 0;   // the proxy answered CONNECT with 2xx
    std::uint64_t tls_start_ns = 0;     // the ClientHello was produced
    std::uint64_t tls_done_ns = 0;      // the handshake completed (or failed)
    std::uint64_t conn_ready_ns = 0;    // the connection could carry the request (gotConn)
    std::uint64_t first_byte_ns = 0;    // the read holding the response's first byte
    std::uint64_t body_done_ns = 0;     // the read (or EOF) that completed the response
};

struct HttpClientResponse {
    HttpResponseHead head;  // status 0 until the final response's headers arrived
    std::string body;       // buffered mode only
    std::uint64_t body_bytes = 0;
    HttpHeaders trailers;            // HTTP/2 only: the header block after the body, if any
    bool trailers_received = false;  // HTTP/2: a header block came after the head
    bool head_ended_stream = false;  // HTTP/2: the head ended the stream (no body, no trailers)
};

class HttpExchange {
public:
    using Done = std::function<void(std::optional<HttpError> error)>;

    explicit HttpExchange(Loop& loop);
    ~HttpExchange();
    HttpExchange(const HttpExchange&) = delete;
    HttpExchange& operator=(const HttpExchange&) = delete;

    // Starts the exchange; call once. done(nullopt) when a complete final response was read,
    // done(error) otherwise; what was learnt until then stays readable either way.
    void start(HttpExchangeOptions options, HttpClientRequest request, Done done);

    // Streaming mode: the caller has read enough (a body over its own limit). Stops reading,
    // closes the connection and completes the exchange as if the response had ended here:
    // done(nullopt) follows from the loop, body_done_ns is now and truncated() is true. May be
    // called from inside on_head or on_body_chunk; a no-op once the exchange has finished.
    void end_early();
    bool truncated() const { return truncated_; }

    const HttpClientResponse& response() const { return response_; }
    HttpClientResponse& response() { return response_; }
    const HttpExchangeTimes& times() const { return times_; }
    // The TLS session with the origin (certificates, version, cipher), once the handshake began;
    // nullptr for plain HTTP or before TLS.
    const TlsSession* tls_session() const { return tls_ ? &tls_->session() : nullptr; }
    bool used_tls() const { return tls_ != nullptr; }

private:
    void on_connected(int status, std::uint64_t at_ns);
    void send_connect();
    void on_connect_bytes(std::string_view data);
    void on_connect_end(int status);
    void start_tls(std::string leftover);
    void on_handshake(bool ok, std::uint64_t at_ns);
    void on_ready(std::uint64_t at_ns);
    void on_response_bytes(std::string_view data, std::uint64_t at_ns);
    void on_response_end(const std::string& error, std::uint64_t at_ns);
    void on_write_done(int status);
    // Sends what the HTTP/2 session has queued (acknowledgements, window updates, the request).
    void flush_http2();
    void send_bytes(std::string bytes);
    void fail_from_parser();
    // Records the outcome, closes the connection and posts done.
    void finish(std::optional<HttpError> error);

    Loop& loop_;
    HttpExchangeOptions options_;
    HttpClientRequest request_;
    Done done_;
    HttpExchangeTimes times_;
    HttpClientResponse response_;
    std::unique_ptr<HttpResponseParser> connect_parser_;  // the proxy's answer to CONNECT
    // The response's reader, made when the connection is ready (the version is known then);
    // h2_ points to it when it is the HTTP/2 one.
    std::unique_ptr<HttpResponseReader> reader_;
    Http2ResponseReader* h2_ = nullptr;
    std::string write_error_;
    bool head_reported_ = false;
    bool truncated_ = false;
    bool finished_ = false;
    // Declaration order is destruction order in reverse: the channel goes before its stream.
    std::unique_ptr<TcpStream> stream_;
    std::unique_ptr<TlsChannel> tls_;
    Alive alive_;  // last member: destroyed first, so posted work sees the exchange gone
};

}  // namespace sonde::net

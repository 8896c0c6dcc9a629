#pragma once

// Http2ResponseReader: one HTTP/2 request and its response on a connection of its own, with
// nghttp2 doing the framing, HPACK and flow control. Like HttpResponseParser it has no socket
// and never calls back: start() queues the client preface, SETTINGS and the request, feed()
// takes what the server sent, and after every call take_output() holds the bytes to send
// (SETTINGS and PING acknowledgements, WINDOW_UPDATEs, the request's DATA as the server's
// window allows).
//
// What it does for the owner, as Go's HTTP/2 client does for the exporter:
//  - one stream (id 1); server push refused (SETTINGS_ENABLE_PUSH 0);
//  - skips 1xx interim header blocks; the final block's `:status` and fields make the head
//    (version HTTP/2.0, content_length from content-length or -1); a header block after it
//    is the trailers (gRPC's grpc-status lives there, or in the head of a trailers-only answer);
//  - caps header bytes (head and trailers, names and values) and buffered body bytes;
//  - fails, with a text for a person, on a stream reset, a GOAWAY that drops the stream,
//    bytes that are not HTTP/2, or the connection closing early.
//
// Plain value, no loop affinity.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"
#include "prober/net/http_request.hpp"
#include "prober/net/http_response_reader.hpp"

namespace sonde::net {

struct Http2Request {
    std::string method = "GET";
    std::string scheme = "https";
    std::string authority;  // "host:port", from the request's Host
    std::string path = "/";
    HttpHeaders headers;  // as for HTTP/1.1; connection-specific fields are dropped
    std::string body;
    bool send_content_length = false;  // as Go: for a body, and for POST/PUT/PATCH
};

class Http2ResponseReader final : public HttpResponseReader {
public:
    Http2ResponseReader(HttpResponseLimits limits, bool head_request);
    ~Http2ResponseReader() override;
    Http2ResponseReader(const Http2ResponseReader&) = delete;
    Http2ResponseReader& operator=(const Http2ResponseReader&) = delete;

    // Queues the preface, SETTINGS and the request; call once, before feed().
    [[nodiscard]] Result<void> start(const Http2Request& request);
    // The bytes to send now ("" when none).
    std::string take_output();
    // The exchange is over (complete, failed or abandoned): queues GOAWAY for take_output()
    // and takes no more input. Idempotent.
    void end_session();

    std::size_t feed(std::string_view data) override;
    void finish() override;
    State state() const override { return state_; }
    bool headers_done() const override { return head_complete_; }
    const std::string& error() const override { return error_; }
    bool failed_on_limit() const override { return failed_on_limit_; }
    const HttpResponseHead& head() const override { return head_; }
    const std::string& body() const override { return body_; }
    std::string take_body() override;
    std::uint64_t body_bytes() const override { return body_bytes_; }

    // True once the server began a header block on the request's stream: Go's
    // GotFirstResponseByte (the server's SETTINGS, which come first, do not count).
    bool response_started() const { return response_started_; }
    // The header block after the head, if any; empty otherwise.
    const HttpHeaders& trailers() const { return trailers_; }
    // Whether a header block came after the head (it may hold no field).
    bool trailers_received() const { return trailers_received_; }
    // Whether the head ended the stream (no body, no trailers: gRPC's "trailers-only").
    bool head_ended_stream() const { return head_ended_stream_; }

    // nghttp2's callbacks; defined in the .cpp.
    struct Callbacks;

private:
    void fail(std::string message, bool on_limit = false);
    void complete();

    struct Impl;
    std::unique_ptr<Impl> impl_;  // the nghttp2 session, kept out of this header
    HttpResponseLimits limits_;
    bool head_request_ = false;
    std::int32_t stream_id_ = -1;
    State state_ = State::Head;
    HttpResponseHead head_;
    HttpHeaders trailers_;
    bool in_trailers_ = false;
    int block_status_ = 0;  // :status of the header block being read
    std::size_t header_bytes_ = 0;
    std::string body_;
    std::uint64_t body_bytes_ = 0;
    std::string request_body_;
    std::size_t request_body_sent_ = 0;
    std::string error_;
    bool response_started_ = false;
    bool head_complete_ = false;
    bool failed_on_limit_ = false;
    bool ended_ = false;
    bool trailers_received_ = false;
    bool head_ended_stream_ = false;
    std::string connection_error_;  // nghttp2's text for a connection error, if any
};

}  // namespace sonde::net

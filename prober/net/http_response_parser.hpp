#pragma once

// HttpResponseParser: one HTTP/1.x response read from a byte stream, with llhttp in response
// mode. It has no socket and never calls back: its owner feeds bytes and then looks at what
// the parser holds, so nothing can be destroyed under the parser's feet (re-entrancy is
// impossible by construction).
//
// What it does for the owner:
//  - skips 1xx interim responses (100 Continue, 103 Early Hints), as Go's client does; 101 is
//    final, since sonde never asks for an upgrade;
//  - frames the body by Content-Length, chunked encoding, or the end of the connection
//    (finish() on EOF), and knows that HEAD and CONNECT answers, 204 and 304 carry none;
//  - caps the header bytes (status line plus names and values) and, unless the owner drains
//    the body as it comes (take_body()), the buffered body bytes;
//  - stops at the end of the final response: bytes after it are reported as unconsumed (after
//    a CONNECT 200 they are the tunnel's first bytes).
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

// What the request was, as far as framing of the answer goes (RFC 9112 §6.3).
enum class RequestKind { Normal, Head, Connect };

class HttpResponseParser final : public HttpResponseReader {
public:
    explicit HttpResponseParser(HttpResponseLimits limits = {},
                                RequestKind request = RequestKind::Normal);
    ~HttpResponseParser() override;
    HttpResponseParser(const HttpResponseParser&) = delete;
    HttpResponseParser& operator=(const HttpResponseParser&) = delete;

    // Parses data. Returns how many bytes belonged to the response: all of them unless the
    // response completed inside data. On failure the state is Failed and error() says why.
    std::size_t feed(std::string_view data) override;
    // The peer closed its side: completes a close-delimited body, else fails ("closed by the
    // peer before the end of the headers", "... in the middle of the body").
    void finish() override;

    State state() const override { return state_; }
    // True once the final response's headers were parsed (even if the body then failed).
    bool headers_done() const override { return head_complete_; }
    // True once a byte of any response (interim ones included) has been parsed.
    bool saw_first_byte() const { return saw_first_byte_; }
    const std::string& error() const override { return error_; }
    // True when the failure was a cap (headers or body too large) rather than bad bytes.
    bool failed_on_limit() const override { return failed_on_limit_; }

    // Valid once headers_done().
    const HttpResponseHead& head() const override { return head_; }
    HttpResponseHead& head() { return head_; }
    // The body bytes parsed and not yet taken.
    const std::string& body() const override { return body_; }
    std::string take_body() override;
    // Body bytes parsed so far, taken or not.
    std::uint64_t body_bytes() const override { return body_bytes_; }

    // llhttp's callbacks; defined in the .cpp.
    struct Callbacks;

private:
    void fail(std::string message, bool on_limit);
    std::string peer_closed_text() const;

    struct Impl;
    std::unique_ptr<Impl> impl_;  // the llhttp_t and its settings, kept out of this header
    HttpResponseLimits limits_;
    RequestKind request_;
    State state_ = State::Head;
    HttpResponseHead head_;
    std::string field_;  // the header name being read
    std::string value_;  // the header value being read
    std::size_t header_bytes_ = 0;
    std::string body_;
    std::uint64_t body_bytes_ = 0;
    std::string error_;
    bool saw_first_byte_ = false;
    bool head_complete_ = false;
    bool failed_on_limit_ = false;
};

}  // namespace sonde::net

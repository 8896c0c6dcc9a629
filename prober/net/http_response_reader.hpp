#pragma once

// HttpResponseReader: the response half of one HTTP exchange, whatever the protocol version.
// HttpExchange feeds it the bytes the connection delivered and looks at what it holds; the
// HTTP/1.x implementation is HttpResponseParser (llhttp), the HTTP/2 one Http2ResponseReader
// (nghttp2). Neither calls back, so nothing can be destroyed under a reader's feet.
//
// Plain value, no loop affinity.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "prober/net/http_request.hpp"

namespace sonde::net {

struct HttpResponseHead {
    int status = 0;
    std::string reason;  // "OK"; whatever the server wrote, possibly empty (HTTP/2 has none)
    int http_major = 1;
    int http_minor = 1;
    // Every field as received, names in the case they were sent with; lookups ignore case.
    HttpHeaders headers;
    // As Go's Response.ContentLength: the Content-Length value; -1 when unknown (chunked or
    // close-delimited); 0 for 1xx, 204 and 304.
    std::int64_t content_length = -1;
    // "HTTP/1.1", "HTTP/2.0", as the exporter matches valid_http_versions.
    std::string version() const;
};

struct HttpResponseLimits {
    // Status line, header names and values, summed; beyond: an error. Go's client default
    // (Transport.MaxResponseHeaderBytes) is 10 MiB; 1 MiB is far above any real server.
    std::size_t max_header_bytes = 1024 * 1024;
    // Body bytes held at once in the reader (all of them when the owner never calls
    // take_body()). 0 means no cap, for owners that drain the body as it comes.
    std::size_t max_body_bytes = 64 * 1024 * 1024;
};

enum class HttpResponseState {
    Head,      // waiting for the final response's headers
    Body,      // headers done; reading the body
    Complete,  // the final response is complete
    Failed,    // see error(); final
};

class HttpResponseReader {
public:
    using State = HttpResponseState;

    virtual ~HttpResponseReader() = default;

    // Takes bytes from the connection. Returns how many belonged to the response (HTTP/1.x
    // stops at the end of the final response; HTTP/2 takes everything).
    virtual std::size_t feed(std::string_view data) = 0;
    // The peer closed its side: completes a close-delimited body, else fails with a text
    // starting "the server closed the connection".
    virtual void finish() = 0;
    virtual State state() const = 0;
    // True once the final response's headers were read (even if the body then failed).
    virtual bool headers_done() const = 0;
    virtual const std::string& error() const = 0;
    // True when the failure was a cap (headers or body too large) rather than bad bytes.
    virtual bool failed_on_limit() const = 0;
    // Valid once headers_done().
    virtual const HttpResponseHead& head() const = 0;
    // The body bytes read and not yet taken.
    virtual const std::string& body() const = 0;
    virtual std::string take_body() = 0;
    // Body bytes read so far, taken or not.
    virtual std::uint64_t body_bytes() const = 0;
};

}  // namespace sonde::net

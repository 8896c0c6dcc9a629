#pragma once

// HttpResponse: what a handler answers, and its encoding into HTTP/1.1 bytes.

#include <cstddef>
#include <string>
#include <string_view>

#include "prober/net/http_request.hpp"

namespace sonde::net {

struct HttpResponse {
    int status = 200;
    // Content-Length, Connection, Transfer-Encoding and Date are the server's: any given here
    // are replaced. Content-Type defaults to text/plain; charset=utf-8 when there is a body.
    HttpHeaders headers;
    std::string body;

    // A response with a text/plain body.
    static HttpResponse text(int status, std::string body);
};

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
std::string_view http_reason_phrase(int status);

// How the server frames one response on its connection.
struct ResponseFraming {
    bool head_request = false;   // send the headers a GET would get, and no body
    bool close = false;          // Connection: close
    bool keep_alive_10 = false;  // an HTTP/1.0 client asked for keep-alive: say we agree
    bool allow_gzip = false;     // the request's Accept-Encoding admits gzip
    std::size_t gzip_min_bytes = 1024;
};

// Serializes response. The body is gzipped when allowed, at least gzip_min_bytes long, and not
// already encoded; such bodies also get Vary: Accept-Encoding, since the reply depends on it.
std::string encode_response(HttpResponse response, const ResponseFraming& framing);

// The status line and headers of a response whose body follows in pieces (response.body is
// ignored): with `chunked`, Transfer-Encoding: chunked; without, no length at all, the body
// ending with the connection (framing.close must be set). With `gzip`, Content-Encoding: gzip
// and Vary: Accept-Encoding.
std::string encode_stream_head(HttpResponse response, const ResponseFraming& framing, bool chunked,
                               bool gzip);

}  // namespace sonde::net

// The HTTP/2 response path of the http and grpc probers: the server's bytes through nghttp2
// and the Http2ResponseReader's callbacks (header blocks, interim 1xx, trailers, DATA, resets,
// GOAWAY, the header and body caps), delivered in chunks of a size the input picks, with the
// reader's own output taken after each, as HttpExchange does.
//
// Input: byte 0 holds flags (bit 0: HEAD request, bit 1: small caps, bit 2: EOF after the
// data), byte 1 the chunk size (0: all at once); the rest is what the server sends.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "prober/net/http2_response_reader.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sonde::net;
    if (size < 2) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::size_t chunk = data[1] == 0 ? size : data[1];
    std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

    HttpResponseLimits limits;
    if ((flags & 2) != 0) {
        limits.max_header_bytes = 64;
        limits.max_body_bytes = 32;
    }
    Http2ResponseReader reader(limits, (flags & 1) != 0);
    Http2Request request;
    request.method = (flags & 1) != 0 ? "HEAD" : "POST";
    request.authority = "example.com:443";
    request.path = "/grpc.health.v1.Health/Check";
    request.headers.add("Content-Type", "application/grpc");
    request.headers.add("Connection", "close");
    request.body = (flags & 1) != 0 ? "" : std::string(5, '\0');
    request.send_content_length = true;
    SONDE_FUZZ_CHECK(reader.start(request).has_value());
    // The client preface comes first.
    SONDE_FUZZ_CHECK(reader.take_output().rfind("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0) == 0);

    while (!input.empty()) {
        const std::size_t n = std::min(chunk, input.size());
        SONDE_FUZZ_CHECK(reader.feed(input.substr(0, n)) == n);
        (void)reader.take_output();
        input.remove_prefix(n);
    }
    if ((flags & 4) != 0) {
        reader.finish();
        SONDE_FUZZ_CHECK(reader.state() == HttpResponseState::Complete ||
                         reader.state() == HttpResponseState::Failed);
    }
    switch (reader.state()) {
        case HttpResponseState::Complete:
            SONDE_FUZZ_CHECK(reader.headers_done());
            SONDE_FUZZ_CHECK(reader.head().http_major == 2);
            SONDE_FUZZ_CHECK(reader.head().status >= 200 || reader.head().status == 0 ||
                             reader.head().status == 101);
            break;
        case HttpResponseState::Failed:
            SONDE_FUZZ_CHECK(!reader.error().empty());
            break;
        case HttpResponseState::Body:
            SONDE_FUZZ_CHECK(reader.headers_done());
            break;
        case HttpResponseState::Head:
            SONDE_FUZZ_CHECK(!reader.headers_done());
            break;
    }
    reader.end_session();
    SONDE_FUZZ_CHECK(reader.feed("more") == 4);
    (void)reader.take_output();
    if (limits.max_body_bytes != 0) {
        SONDE_FUZZ_CHECK(reader.body().size() <= limits.max_body_bytes);
    }
    return 0;
}

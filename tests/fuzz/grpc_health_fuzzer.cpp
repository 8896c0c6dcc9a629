// The grpc prober's hand-written wire code: the framed HealthCheckResponse decoder (gRPC
// prefix, protobuf varints, unknown fields of every wire type) and the rules that read a
// call's status from the response head, body and trailers. Then the other direction: a
// request encoded from the input must decode (as a response message holding only an unknown
// length-delimited field, it is UNKNOWN).
//
// Input: byte 0 holds flags: bit 0 a gRPC content type, bit 1 grpc-status in the trailers
// (else in the head), bit 2 HTTP 200 (else 400 + bits 3-6), bit 6 no status block at all,
// bit 7 a well-formed OK status. The rest is the body, whose first 8 bytes also serve as the
// grpc-status (without bit 7) and grpc-message values.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "modules/grpc/grpc_health.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sonde::modules::grpc;
    if (size == 0) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

    if (auto status = decode_health_check_response(body)) {
        // Only a whole, uncompressed, single message within the limit decodes.
        SONDE_FUZZ_CHECK(body.size() >= 5 && body[0] == 0);
        SONDE_FUZZ_CHECK(body.size() - 5 <= kMaxGrpcMessageBytes);
        SONDE_FUZZ_CHECK(!serving_status_name(*status).empty());
    }

    sonde::net::HttpHeaders headers;
    sonde::net::HttpHeaders trailers;
    headers.add("content-type", (flags & 1) != 0 ? "application/grpc" : "text/html");
    const std::string field(body.substr(0, 8));
    // Bit 7: a well-formed OK status, so the decoder is reached through the call rules too.
    ((flags & 2) != 0 ? trailers : headers).add("grpc-status", (flags & 0x80) != 0 ? "0" : field);
    headers.add("grpc-message", field);
    const int http_status = (flags & 4) != 0 ? 200 : 400 + ((flags >> 3) & 0x0f);
    const sonde::net::HttpHeaders* status_fields = (flags & 0x40) != 0 ? nullptr
                                                   : (flags & 2) != 0  ? &trailers
                                                                       : &headers;
    const GrpcCallResult call = read_health_check_call(http_status, headers, body, status_fields);
    SONDE_FUZZ_CHECK(call.code >= 0);
    SONDE_FUZZ_CHECK(call.serving_status.has_value() == (call.code == kGrpcOk));
    SONDE_FUZZ_CHECK(!grpc_code_name(call.code).empty());

    if (body.size() <= 4096) {
        const std::string request = encode_health_check_request(body);
        auto decoded = decode_health_check_response(request);
        SONDE_FUZZ_CHECK(decoded.has_value() && *decoded == 0);
    }
    return 0;
}

#pragma once

// The gRPC health-checking protocol (grpc.health.v1.Health/Check) on the wire, without a
// protobuf library: the two messages are one field each.
//
//   message HealthCheckRequest  { string service = 1; }
//   message HealthCheckResponse { ServingStatus status = 1; }   // UNKNOWN 0, SERVING 1,
//                                                               // NOT_SERVING 2, SERVICE_UNKNOWN 3
//
// and the gRPC framing around them (a 5-byte prefix per message: compressed flag, big-endian
// length), plus the rules by which a client reads a call's status from an HTTP/2 response
// (grpc-go's, https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md).
//
// Pure functions on bytes: no loop, no sockets; the decoder is fuzzed
// (tests/fuzz/grpc_health_fuzzer.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::modules::grpc {

// The status codes this prober names (google.golang.org/grpc/codes).
inline constexpr int kGrpcOk = 0;
inline constexpr int kGrpcUnknown = 2;
inline constexpr int kGrpcDeadlineExceeded = 4;
inline constexpr int kGrpcResourceExhausted = 8;
inline constexpr int kGrpcUnimplemented = 12;
inline constexpr int kGrpcInternal = 13;
inline constexpr int kGrpcUnavailable = 14;

inline constexpr int kServingStatusServing = 1;

// Largest response message taken (grpc-go's default receive limit is 4 MiB; a health answer
// is 2 bytes).
inline constexpr std::size_t kMaxGrpcMessageBytes = 64 * 1024;

// The framed request body: prefix + HealthCheckRequest{service}.
std::string encode_health_check_request(std::string_view service);

// The ServingStatus of one framed, uncompressed HealthCheckResponse (the whole response
// body). Unknown fields are skipped as protobuf requires; a missing status is UNKNOWN (0).
// Errors say what is wrong with the bytes.
Result<int> decode_health_check_response(std::string_view body);

// "SERVING", ... as grpc-go's enum String() (a number without a name prints as the number).
std::string serving_status_name(int status);

// "OK", "UNAVAILABLE", ... ("CODE(<n>)" for a number without a name).
std::string grpc_code_name(int code);

// The outcome of one Check call, read from the HTTP/2 response.
struct GrpcCallResult {
    int code = kGrpcUnknown;
    std::string message;                // grpc-message (percent-decoded), or what went wrong
    std::optional<int> serving_status;  // with code OK only
};

// status_fields: the header block that ended the stream and so carries grpc-status — the
// trailers, or the head itself for a "trailers-only" answer; null when the stream ended with
// DATA and no trailers (grpc-go: INTERNAL).
GrpcCallResult read_health_check_call(int http_status, const net::HttpHeaders& headers,
                                      std::string_view body, const net::HttpHeaders* status_fields);

// The grpc-timeout header value for a deadline this far away: "<n>m" (milliseconds), at most
// 8 digits as the spec allows.
std::string grpc_timeout_value(std::uint64_t remaining_ms);

}  // namespace sonde::modules::grpc

// The gRPC health messages and call-status rules, byte for byte (modules/grpc/grpc_health).
#include "modules/grpc/grpc_health.hpp"

#include <string>

#include <catch2/catch.hpp>

namespace sonde::modules::grpc {
namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

net::HttpHeaders grpc_headers() {
    net::HttpHeaders headers;
    headers.add("content-type", "application/grpc+proto");
    return headers;
}

TEST_CASE("grpc health: the request is a framed HealthCheckRequest", "[grpc]") {
    // An empty service writes no field: a zero-length message.
    CHECK(encode_health_check_request("") == bytes({0, 0, 0, 0, 0}));
    CHECK(encode_health_check_request("svc") == bytes({0, 0, 0, 0, 5, 0x0a, 3}) + "svc");
    // A 200-byte name needs a two-byte varint length.
    const std::string long_name(200, 'n');
    CHECK(encode_health_check_request(long_name) ==
          bytes({0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01}) + long_name);
}

TEST_CASE("grpc health: responses decode, unknown fields are skipped", "[grpc]") {
    CHECK(decode_health_check_response(bytes({0, 0, 0, 0, 2, 0x08, 1})).value() == 1);
    CHECK(decode_health_check_response(bytes({0, 0, 0, 0, 0})).value() == 0);
    // Fields 2 (length-delimited), 3 (fixed32), 4 (fixed64) around the status.
    CHECK(
        decode_health_check_response(bytes({0, 0, 0, 0,    20, 0x12, 2, 'h', 'i', 0x08, 2, 0x1d, 1,
                                            2, 3, 4, 0x21, 1,  2,    3, 4,   5,   6,    7, 8}))
            .value() == 2);
    // The last occurrence wins; an unnamed value is kept as its number.
    CHECK(decode_health_check_response(bytes({0, 0, 0, 0, 4, 0x08, 1, 0x08, 7})).value() == 7);
    CHECK(serving_status_name(7) == "7");
    CHECK(serving_status_name(3) == "SERVICE_UNKNOWN");
}

TEST_CASE("grpc health: malformed responses are errors, never reads past the end", "[grpc]") {
    CHECK_FALSE(decode_health_check_response(bytes({0, 0, 0})).has_value());
    CHECK(
        decode_health_check_response(bytes({1, 0, 0, 0, 2, 0x08, 1})).error().find("compressed") !=
        std::string::npos);
    CHECK(decode_health_check_response(bytes({0, 0, 0, 0, 3, 0x08, 1})).error().find("truncated") !=
          std::string::npos);
    CHECK(decode_health_check_response(bytes({0, 0, 0, 0, 2, 0x08, 1, 0}))
              .error()
              .find("more than one") != std::string::npos);
    CHECK(decode_health_check_response(bytes({0, 0x7f, 0, 0, 0})).error().find("limit") !=
          std::string::npos);
    // A varint that never ends, a group, field number 0.
    CHECK_FALSE(decode_health_check_response(bytes({0, 0, 0, 0, 2, 0x08, 0x80})).has_value());
    CHECK_FALSE(decode_health_check_response(bytes({0, 0, 0, 0, 1, 0x0b})).has_value());
    CHECK_FALSE(decode_health_check_response(bytes({0, 0, 0, 0, 2, 0x00, 1})).has_value());
    // A length-delimited field longer than the message.
    CHECK_FALSE(decode_health_check_response(bytes({0, 0, 0, 0, 3, 0x12, 9, 'x'})).has_value());
}

TEST_CASE("grpc health: the call's status comes from trailers, head or HTTP status", "[grpc]") {
    net::HttpHeaders trailers;
    trailers.add("grpc-status", "0");
    auto call =
        read_health_check_call(200, grpc_headers(), bytes({0, 0, 0, 0, 2, 0x08, 1}), &trailers);
    CHECK(call.code == kGrpcOk);
    CHECK(call.serving_status == 1);

    // Trailers-only: grpc-status and a percent-encoded grpc-message in the head.
    auto head = grpc_headers();
    head.add("grpc-status", "12");
    head.add("grpc-message", "unknown%20service%zz");
    call = read_health_check_call(200, head, "", &head);
    CHECK(call.code == kGrpcUnimplemented);
    CHECK(call.message == "unknown service%zz");
    CHECK_FALSE(call.serving_status.has_value());

    // No trailers at all (INTERNAL); trailers without grpc-status (UNKNOWN, as grpc-go); a
    // malformed one; a body that does not decode.
    CHECK(read_health_check_call(200, grpc_headers(), "", nullptr).code == kGrpcInternal);
    const net::HttpHeaders no_status;
    CHECK(read_health_check_call(200, grpc_headers(), "", &no_status).code == kGrpcUnknown);
    net::HttpHeaders bad;
    bad.add("grpc-status", "OK");
    CHECK(read_health_check_call(200, grpc_headers(), "", &bad).code == kGrpcInternal);
    call = read_health_check_call(200, grpc_headers(), bytes({0, 0, 0}), &trailers);
    CHECK(call.code == kGrpcInternal);
    CHECK(call.message.find("unmarshal") != std::string::npos);

    // Not gRPC at all: the HTTP status maps (404 UNIMPLEMENTED, 503 UNAVAILABLE, else UNKNOWN).
    net::HttpHeaders html;
    html.add("content-type", "text/html");
    CHECK(read_health_check_call(404, html, "", nullptr).code == kGrpcUnimplemented);
    CHECK(read_health_check_call(503, html, "", nullptr).code == kGrpcUnavailable);
    CHECK(read_health_check_call(500, html, "", nullptr).code == kGrpcUnknown);
    CHECK(read_health_check_call(200, html, "", &trailers).code == kGrpcUnknown);
    // grpc-web is not gRPC.
    net::HttpHeaders web;
    web.add("content-type", "application/grpc-web");
    CHECK(read_health_check_call(200, web, "", &trailers).code == kGrpcUnknown);
    CHECK(grpc_code_name(14) == "UNAVAILABLE");
    CHECK(grpc_code_name(99) == "CODE(99)");
}

TEST_CASE("grpc health: grpc-timeout carries the deadline in milliseconds", "[grpc]") {
    CHECK(grpc_timeout_value(1500) == "1500m");
    CHECK(grpc_timeout_value(0) == "0m");
    CHECK(grpc_timeout_value(1'000'000'000'000) == "99999999m");
}

}  // namespace
}  // namespace sonde::modules::grpc

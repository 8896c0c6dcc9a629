#include "modules/grpc/grpc_health.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "config/ascii.hpp"

namespace sonde::modules::grpc {
namespace {

constexpr std::size_t kGrpcPrefixBytes = 5;

void append_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

// A protobuf base-128 varint at data[pos...]; advances pos. At most 10 bytes, as the format
// allows; a longer or truncated one is an error.
std::optional<std::uint64_t> read_varint(std::string_view data, std::size_t& pos) {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 70 && pos < data.size(); shift += 7) {
        const auto byte = static_cast<std::uint8_t>(data[pos++]);
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            return value;
        }
    }
    return std::nullopt;
}

int grpc_code_from_http(int http_status) {
    switch (http_status) {
        case 400:
            return kGrpcInternal;
        case 401:
            return 16;  // UNAUTHENTICATED
        case 403:
            return 7;  // PERMISSION_DENIED
        case 404:
            return kGrpcUnimplemented;
        case 429:
        case 502:
        case 503:
        case 504:
            return kGrpcUnavailable;
        default:
            return kGrpcUnknown;
    }
}

// grpc-message is percent-encoded (the spec's "Percent-Encoded"); a malformed escape is kept
// as written, as grpc-go does.
std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = config::ascii_hex_value(text[i + 1]);
            const int lo = config::ascii_hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

std::optional<int> parse_grpc_status(const std::string& text) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::string encode_health_check_request(std::string_view service) {
    std::string message;
    if (!service.empty()) {       // proto3: a default value is not written
        message.push_back(0x0a);  // field 1, wire type 2 (length-delimited)
        append_varint(message, service.size());
        message.append(service);
    }
    std::string framed;
    framed.push_back(0);  // not compressed
    const auto size = static_cast<std::uint32_t>(message.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
        framed.push_back(static_cast<char>((size >> shift) & 0xff));
    }
    framed += message;
    return framed;
}

Result<int> decode_health_check_response(std::string_view body) {
    if (body.size() < kGrpcPrefixBytes) {
        return unexpected("the response has no complete gRPC message (" +
                          std::to_string(body.size()) + " bytes)");
    }
    if (body[0] != 0) {
        // Nothing was offered in grpc-accept-encoding, so nothing may come compressed.
        return unexpected("the response message is compressed, which was not asked for");
    }
    std::uint32_t size = 0;
    for (std::size_t i = 1; i < kGrpcPrefixBytes; ++i) {
        size = (size << 8) | static_cast<std::uint8_t>(body[i]);
    }
    if (size > kMaxGrpcMessageBytes) {
        return unexpected("the response message of " + std::to_string(size) +
                          " bytes is over the limit of " + std::to_string(kMaxGrpcMessageBytes));
    }
    if (body.size() - kGrpcPrefixBytes != size) {
        return unexpected(body.size() - kGrpcPrefixBytes < size
                              ? "the response message is truncated"
                              : "the response holds more than one message");
    }
    const std::string_view message = body.substr(kGrpcPrefixBytes);
    int status = 0;
    std::size_t pos = 0;
    while (pos < message.size()) {
        const auto key = read_varint(message, pos);
        if (!key) {
            return unexpected("the HealthCheckResponse is not valid protobuf (bad field key)");
        }
        const std::uint64_t field = *key >> 3;
        const auto wire_type = static_cast<unsigned>(*key & 7);
        if (field == 0) {
            return unexpected("the HealthCheckResponse is not valid protobuf (field number 0)");
        }
        switch (wire_type) {
            case 0: {  // varint
                const auto value = read_varint(message, pos);
                if (!value) {
                    return unexpected("the HealthCheckResponse is not valid protobuf (bad varint)");
                }
                if (field == 1) {
                    // An enum is an int32 on the wire; the last occurrence wins.
                    status = static_cast<int>(static_cast<std::int32_t>(*value));
                }
                break;
            }
            case 1:    // 64-bit
            case 5: {  // 32-bit
                const std::size_t width = wire_type == 1 ? 8 : 4;
                if (message.size() - pos < width) {
                    return unexpected("the HealthCheckResponse is not valid protobuf (truncated)");
                }
                pos += width;
                break;
            }
            case 2: {  // length-delimited
                const auto length = read_varint(message, pos);
                if (!length || *length > message.size() - pos) {
                    return unexpected("the HealthCheckResponse is not valid protobuf (truncated)");
                }
                pos += static_cast<std::size_t>(*length);
                break;
            }
            default:  // groups (3, 4) and the unused 6, 7
                return unexpected("the HealthCheckResponse is not valid protobuf (wire type " +
                                  std::to_string(wire_type) + ")");
        }
    }
    return status;
}

std::string serving_status_name(int status) {
    switch (status) {
        case 0:
            return "UNKNOWN";
        case 1:
            return "SERVING";
        case 2:
            return "NOT_SERVING";
        case 3:
            return "SERVICE_UNKNOWN";
        default:
            return std::to_string(status);
    }
}

std::string grpc_code_name(int code) {
    static constexpr const char* kNames[] = {"OK",
                                             "CANCELED",
                                             "UNKNOWN",
                                             "INVALID_ARGUMENT",
                                             "DEADLINE_EXCEEDED",
                                             "NOT_FOUND",
                                             "ALREADY_EXISTS",
                                             "PERMISSION_DENIED",
                                             "RESOURCE_EXHAUSTED",
                                             "FAILED_PRECONDITION",
                                             "ABORTED",
                                             "OUT_OF_RANGE",
                                             "UNIMPLEMENTED",
                                             "INTERNAL",
                                             "UNAVAILABLE",
                                             "DATA_LOSS",
                                             "UNAUTHENTICATED"};
    if (code >= 0 && code < static_cast<int>(std::size(kNames))) {
        return kNames[code];
    }
    return "CODE(" + std::to_string(code) + ")";
}

GrpcCallResult read_health_check_call(int http_status, const net::HttpHeaders& headers,
                                      std::string_view body,
                                      const net::HttpHeaders* status_fields) {
    GrpcCallResult result;
    if (http_status != 200) {
        result.code = grpc_code_from_http(http_status);
        result.message =
            "unexpected HTTP status code received from server: " + std::to_string(http_status);
        return result;
    }
    // grpc-go's rule: exactly application/grpc, or it followed by "+format" or ";params".
    const std::string* content_type = headers.find("content-type");
    const std::string_view type = content_type != nullptr ? *content_type : std::string_view();
    const bool is_grpc = type.substr(0, 16) == "application/grpc" &&
                         (type.size() == 16 || type[16] == '+' || type[16] == ';');
    if (!is_grpc) {
        result.code = kGrpcUnknown;
        result.message = "unexpected content-type \"" + std::string(type) + "\"";
        return result;
    }
    if (status_fields == nullptr) {
        result.code = kGrpcInternal;
        result.message = "server closed the stream without sending trailers";
        return result;
    }
    const std::string* status_text = status_fields->find("grpc-status");
    if (status_text == nullptr) {
        // grpc-go starts from UNKNOWN and keeps it when the trailers do not say.
        result.code = kGrpcUnknown;
        result.message = "the server's trailers have no grpc-status";
        return result;
    }
    const auto code = parse_grpc_status(*status_text);
    if (!code) {
        result.code = kGrpcInternal;
        result.message = "malformed grpc-status \"" + *status_text + "\"";
        return result;
    }
    result.code = *code;
    if (const std::string* message = status_fields->find("grpc-message")) {
        result.message = percent_decode(*message);
    }
    if (result.code != kGrpcOk) {
        return result;
    }
    auto serving = decode_health_check_response(body);
    if (!serving) {
        result.code = kGrpcInternal;
        result.message = "grpc: failed to unmarshal the received message: " + serving.error();
        return result;
    }
    result.serving_status = *serving;
    return result;
}

std::string grpc_timeout_value(std::uint64_t remaining_ms) {
    // The spec allows 8 digits; 99,999,999 ms is over a day, far beyond any probe.
    return std::to_string(std::min<std::uint64_t>(remaining_ms, 99'999'999)) + "m";
}

}  // namespace sonde::modules::grpc

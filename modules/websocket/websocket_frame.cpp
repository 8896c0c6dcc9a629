#include "modules/websocket/websocket_frame.hpp"

#include <cstdio>

namespace sonde::modules::websocket {
namespace {

constexpr std::uint8_t kFinBit = 0x80;
constexpr std::uint8_t kReservedBits = 0x70;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::size_t kMaxControlPayload = 125;

bool known_opcode(std::uint8_t value) {
    return value <= 0x2 || (value >= 0x8 && value <= 0xA);
}

const char* close_code_text(unsigned code) {
    switch (code) {
        case 1000:
            return " (normal)";
        case 1001:
            return " (going away)";
        case 1002:
            return " (protocol error)";
        case 1003:
            return " (unsupported data)";
        case 1005:
            return " (no status)";
        case 1006:
            return " (abnormal closure)";
        case 1007:
            return " (invalid payload data)";
        case 1008:
            return " (policy violation)";
        case 1009:
            return " (message too big)";
        case 1010:
            return " (mandatory extension missing)";
        case 1011:
            return " (internal server error)";
        case 1015:
            return " (TLS handshake error)";
        default:
            return "";
    }
}

}  // namespace

bool is_control(Opcode opcode) {
    return (static_cast<std::uint8_t>(opcode) & 0x8U) != 0;
}

std::string encode_frame(Opcode opcode, std::string_view payload,
                         const std::optional<std::array<std::uint8_t, 4>>& mask, bool fin) {
    std::string out;
    out.reserve(payload.size() + 14);
    out += static_cast<char>((fin ? kFinBit : 0U) | static_cast<std::uint8_t>(opcode));
    const std::uint8_t mask_bit = mask ? kMaskBit : 0U;
    const std::uint64_t length = payload.size();
    if (length <= 125) {
        out += static_cast<char>(mask_bit | static_cast<std::uint8_t>(length));
    } else if (length <= 0xFFFF) {
        out += static_cast<char>(mask_bit | 126U);
        out += static_cast<char>((length >> 8U) & 0xFFU);
        out += static_cast<char>(length & 0xFFU);
    } else {
        out += static_cast<char>(mask_bit | 127U);
        for (int shift = 56; shift >= 0; shift -= 8) {
            out += static_cast<char>((length >> static_cast<unsigned>(shift)) & 0xFFU);
        }
    }
    if (!mask) {
        out.append(payload);
        return out;
    }
    for (const std::uint8_t byte : *mask) {
        out += static_cast<char>(byte);
    }
    for (std::size_t i = 0; i < payload.size(); ++i) {
        out += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ (*mask)[i % 4]);
    }
    return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string out;
    out += static_cast<char>((code >> 8U) & 0xFFU);
    out += static_cast<char>(code & 0xFFU);
    out.append(reason);
    return out;
}

FrameDecoder::FrameDecoder(Sender sender, std::size_t max_payload)
    : sender_(sender), max_payload_(max_payload) {
}

void FrameDecoder::feed(std::string_view bytes) {
    if (!error_.empty()) {
        return;
    }
    // Drop what was consumed before growing, so the buffer holds at most one frame's worth.
    if (offset_ > 0) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
    buffer_.append(bytes);
}

Result<std::optional<Frame>> FrameDecoder::next() {
    if (!error_.empty()) {
        return unexpected(error_);
    }
    const auto fail = [this](std::string message) -> Result<std::optional<Frame>> {
        error_ = "websocket: " + std::move(message);
        buffer_.clear();
        offset_ = 0;
        return unexpected(error_);
    };
    const std::string_view data = std::string_view(buffer_).substr(offset_);
    if (data.size() < 2) {
        return std::optional<Frame>{};
    }
    const auto b0 = static_cast<std::uint8_t>(data[0]);
    const auto b1 = static_cast<std::uint8_t>(data[1]);
    // Checked as soon as the first two bytes are here, in gorilla's order.
    if ((b0 & kReservedBits) != 0) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "%x", static_cast<unsigned>(b0 & kReservedBits));
        return fail(std::string("unexpected reserved bits 0x") + hex);
    }
    const std::uint8_t op = b0 & 0x0FU;
    if (!known_opcode(op)) {
        return fail("unknown opcode " + std::to_string(op));
    }
    const auto opcode = static_cast<Opcode>(op);
    const bool fin = (b0 & kFinBit) != 0;
    if (is_control(opcode) && !fin) {
        return fail("control frame not final");
    }
    const bool masked = (b1 & kMaskBit) != 0;
    if (masked != (sender_ == Sender::Client)) {
        return fail("incorrect mask flag");
    }
    std::size_t header = 2;
    std::uint64_t length = b1 & 0x7FU;
    if (length == 126) {
        if (data.size() < 4) {
            return std::optional<Frame>{};
        }
        length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(data[2])) << 8U) |
                 static_cast<std::uint8_t>(data[3]);
        header = 4;
    } else if (length == 127) {
        if (data.size() < 10) {
            return std::optional<Frame>{};
        }
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) {
            length = (length << 8U) | static_cast<std::uint8_t>(data[i]);
        }
        header = 10;
    }
    if (is_control(opcode) && length > kMaxControlPayload) {
        return fail("control frame length > 125");
    }
    // Before waiting for (or allocating) the payload: the announced length alone decides.
    if (length > max_payload_) {
        return fail("read limit exceeded (a frame of " + std::to_string(length) +
                    " bytes; the limit is " + std::to_string(max_payload_) + ")");
    }
    std::array<std::uint8_t, 4> mask{};
    if (masked) {
        if (data.size() < header + 4) {
            return std::optional<Frame>{};
        }
        for (std::size_t i = 0; i < 4; ++i) {
            mask[i] = static_cast<std::uint8_t>(data[header + i]);
        }
        header += 4;
    }
    const auto payload_size = static_cast<std::size_t>(length);
    if (data.size() - header < payload_size) {
        return std::optional<Frame>{};
    }
    Frame frame;
    frame.fin = fin;
    frame.opcode = opcode;
    frame.payload.assign(data.substr(header, payload_size));
    if (masked) {
        for (std::size_t i = 0; i < frame.payload.size(); ++i) {
            frame.payload[i] =
                static_cast<char>(static_cast<std::uint8_t>(frame.payload[i]) ^ mask[i % 4]);
        }
    }
    offset_ += header + payload_size;
    if (offset_ == buffer_.size()) {
        buffer_.clear();
        offset_ = 0;
    }
    return std::optional<Frame>{std::move(frame)};
}

MessageAssembler::MessageAssembler(std::size_t max_message) : max_message_(max_message) {
}

Result<std::optional<Event>> MessageAssembler::add(Frame frame) {
    using Kind = Event::Kind;
    switch (frame.opcode) {
        case Opcode::Ping:
            return std::optional<Event>{Event{Kind::Ping, frame.opcode, std::move(frame.payload)}};
        case Opcode::Pong:
            return std::optional<Event>{Event{Kind::Pong, frame.opcode, std::move(frame.payload)}};
        case Opcode::Close:
            return std::optional<Event>{Event{Kind::Close, frame.opcode, std::move(frame.payload)}};
        case Opcode::Continuation:
            if (!open_) {
                return unexpected(std::string("websocket: continuation after final message frame"));
            }
            break;
        case Opcode::Text:
        case Opcode::Binary:
            if (open_) {
                return unexpected(
                    std::string("websocket: message start before final message frame"));
            }
            open_ = frame.opcode;
            message_.clear();
            break;
    }
    if (message_.size() + frame.payload.size() > max_message_) {
        return unexpected("websocket: read limit exceeded (a message over " +
                          std::to_string(max_message_) + " bytes)");
    }
    message_ += frame.payload;
    if (!frame.fin) {
        return std::optional<Event>{};
    }
    Event event{Kind::Message, *open_, std::move(message_)};
    open_.reset();
    message_.clear();
    return std::optional<Event>{std::move(event)};
}

std::string describe_close(std::string_view payload) {
    if (payload.size() < 2) {
        return "websocket: close 1005 (no status)";
    }
    const unsigned code = (static_cast<unsigned>(static_cast<std::uint8_t>(payload[0])) << 8U) |
                          static_cast<std::uint8_t>(payload[1]);
    std::string out = "websocket: close " + std::to_string(code) + close_code_text(code);
    if (payload.size() > 2) {
        out += ": ";
        out.append(payload.substr(2));
    }
    return out;
}

}  // namespace sonde::modules::websocket

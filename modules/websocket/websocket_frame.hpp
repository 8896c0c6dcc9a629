#pragma once

// WebSocket framing (RFC 6455 §5): the encoder for the frames a probe sends and an incremental
// decoder for the frames a server sends, with the checks gorilla/websocket (the exporter's
// library) makes and its error texts ("websocket: ..."). The test servers use the same code in
// the other role.
//
// Sizes are bounded before anything is allocated: a frame or a message longer than the limit
// fails as soon as its header is read, so a peer announcing a 2^63-byte frame costs nothing.
//
// Plain values, no loop affinity, no I/O.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prober/core/result.hpp"

namespace sonde::modules::websocket {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

bool is_control(Opcode opcode);

struct Frame {
    bool fin = true;
    Opcode opcode = Opcode::Text;
    std::string payload;  // unmasked
};

// One frame on the wire. A client masks every frame with a fresh key (RFC 6455 §5.3); a
// server sends them unmasked (mask nullopt).
std::string encode_frame(Opcode opcode, std::string_view payload,
                         const std::optional<std::array<std::uint8_t, 4>>& mask, bool fin = true);

// The payload of a close frame: the status code, big-endian, then the reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {});

// Who sent the frames being decoded: a client's must be masked, a server's must not.
enum class Sender { Server, Client };

class FrameDecoder {
public:
    FrameDecoder(Sender sender, std::size_t max_payload);

    void feed(std::string_view bytes);
    // The next complete frame, nullopt until enough bytes arrived, or the protocol error that
    // makes the stream unusable (final: every later call returns it again).
    Result<std::optional<Frame>> next();
    std::size_t buffered() const { return buffer_.size() - offset_; }

private:
    Sender sender_;
    std::size_t max_payload_;
    std::string buffer_;
    std::size_t offset_ = 0;  // bytes of buffer_ already consumed
    std::string error_;
};

// What a reader of messages sees: a whole data message (its fragments joined), or a control
// frame to act on.
struct Event {
    enum class Kind { Message, Ping, Pong, Close };
    Kind kind = Kind::Message;
    Opcode opcode = Opcode::Text;  // Text or Binary, for messages
    std::string data;              // the message, or the control frame's payload
};

// Joins fragmented data messages (a Text/Binary frame without FIN, then Continuation frames)
// and passes control frames through, which may arrive between fragments.
class MessageAssembler {
public:
    explicit MessageAssembler(std::size_t max_message);

    // The event this frame completes, nullopt for a fragment that is not the last, or the
    // protocol error (a continuation with no message started, a new message inside one, a
    // message over the limit).
    Result<std::optional<Event>> add(Frame frame);

private:
    std::size_t max_message_;
    std::optional<Opcode> open_;  // the opcode of the message being assembled
    std::string message_;
};

// The close code and reason of a close frame's payload in gorilla's words, e.g.
// "websocket: close 1000 (normal): bye"; "websocket: close 1005 (no status)" when empty.
std::string describe_close(std::string_view payload);

}  // namespace sonde::modules::websocket

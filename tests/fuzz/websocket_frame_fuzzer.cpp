// The websocket prober's wire code, as the probe drives it: the server's answer to the upgrade
// request through the HTTP parser and check_upgrade_response, then the bytes behind it through
// the FrameDecoder and the MessageAssembler, delivered in chunks of a size the input picks.
// Every frame decoded is encoded again (unmasked and masked) and must decode the same; every
// message is checked against a model of the fragments it joins; close payloads are described.
// The socket side (websocket_probe.cpp) is not linked: it needs the loop.
//
// Input: byte 0 holds flags (bit 0: the data starts with the HTTP answer to the upgrade, bit 1:
// a 64-byte frame limit, bit 2: a 100-byte message limit, bit 3: the data is also read as a
// target URL), byte 1 the chunk size (0: all at once); the rest is what the server sends.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "modules/websocket/websocket_frame.hpp"
#include "modules/websocket/websocket_handshake.hpp"
#include "modules/websocket/websocket_probe.hpp"
#include "prober/net/http_response_parser.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace sonde::modules::websocket;

// The key of RFC 6455 §1.3; a seed answers with its accept, s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
constexpr std::string_view kWsFuzzKey = "dGhlIHNhbXBsZSBub25jZQ==";
// A server frame's header: 2 bytes, then at most 8 of extended length (no mask).
constexpr std::size_t kWsFuzzMaxHeader = 10;

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// A protocol error: final, and in gorilla's words.
void check_error(const std::string& error) {
    SONDE_FUZZ_CHECK(starts_with(error, "websocket: "));
    SONDE_FUZZ_CHECK(error.size() > std::string_view("websocket: ").size());
}

// The bytes decode, all of them, into exactly the frame.
void check_decodes_to(Sender sender, const std::string& bytes, const Frame& frame,
                      std::size_t max_payload) {
    FrameDecoder decoder(sender, max_payload);
    decoder.feed(bytes);
    auto again = decoder.next();
    SONDE_FUZZ_CHECK(again.has_value() && again->has_value());
    SONDE_FUZZ_CHECK((*again)->fin == frame.fin && (*again)->opcode == frame.opcode);
    SONDE_FUZZ_CHECK((*again)->payload == frame.payload);
    SONDE_FUZZ_CHECK(decoder.buffered() == 0);
}

// The frame, encoded again, decodes the same: unmasked by a server-side decoder, masked by a
// client-side one; a masked frame from a server is refused.
void check_reencode(const Frame& frame, std::size_t max_payload, std::size_t consumed) {
    const std::string plain = encode_frame(frame.opcode, frame.payload, std::nullopt, frame.fin);
    // The encoder picks the shortest length form; the server may have used a longer one.
    SONDE_FUZZ_CHECK(plain.size() <= consumed);
    check_decodes_to(Sender::Server, plain, frame, max_payload);

    const std::array<std::uint8_t, 4> mask{0x5a, static_cast<std::uint8_t>(frame.payload.size()),
                                           0x00, 0xff};
    const std::string masked = encode_frame(frame.opcode, frame.payload, mask, frame.fin);
    SONDE_FUZZ_CHECK(masked.size() == plain.size() + 4);
    check_decodes_to(Sender::Client, masked, frame, max_payload);

    FrameDecoder refusing(Sender::Server, max_payload);
    refusing.feed(masked);
    auto refused = refusing.next();
    SONDE_FUZZ_CHECK(!refused.has_value() && refused.error() == "websocket: incorrect mask flag");
}

// A close payload's description: the code (1005 when there is none) and the reason.
void check_close(std::string_view payload) {
    const std::string text = describe_close(payload);
    if (payload.size() < 2) {
        SONDE_FUZZ_CHECK(text == "websocket: close 1005 (no status)");
        return;
    }
    const unsigned code = (static_cast<unsigned>(static_cast<std::uint8_t>(payload[0])) << 8U) |
                          static_cast<std::uint8_t>(payload[1]);
    SONDE_FUZZ_CHECK(starts_with(text, "websocket: close " + std::to_string(code)));
    SONDE_FUZZ_CHECK(close_payload(static_cast<std::uint16_t>(code), payload.substr(2)) == payload);
    if (payload.size() > 2) {
        const std::string_view reason = payload.substr(2);
        SONDE_FUZZ_CHECK(text.size() > reason.size() + 2);
        SONDE_FUZZ_CHECK(std::string_view(text).substr(text.size() - reason.size() - 2) ==
                         ": " + std::string(reason));
    }
}

// The target URL, as a scrape's ?target= gives it: whatever it holds, the upgrade request it
// makes has one header block, ended once, and no line break but CRLF.
void check_target(std::string_view text) {
    auto target = parse_websocket_target(text);
    if (!target) {
        SONDE_FUZZ_CHECK(!target.error().empty());
        return;
    }
    SONDE_FUZZ_CHECK(!target->host.empty());
    SONDE_FUZZ_CHECK(!target->request_uri.empty());
    auto request = upgrade_request(*target, kWsFuzzKey, {});
    SONDE_FUZZ_CHECK(request.has_value());
    SONDE_FUZZ_CHECK(starts_with(*request, "GET "));
    SONDE_FUZZ_CHECK(request->find("\r\n\r\n") == request->size() - 4);
    for (std::size_t i = 0; i < request->size(); ++i) {
        if ((*request)[i] == '\n') {
            SONDE_FUZZ_CHECK(i > 0 && (*request)[i - 1] == '\r');
        }
        if ((*request)[i] == '\r') {
            SONDE_FUZZ_CHECK(i + 1 < request->size() && (*request)[i + 1] == '\n');
        }
    }
}

// The frames' side: the decoder, the assembler, and a model of the message being assembled.
class WsFuzzReader {
public:
    WsFuzzReader(std::size_t max_payload, std::size_t max_message)
        : max_payload_(max_payload),
          max_message_(max_message),
          decoder_(Sender::Server, max_payload),
          assembler_(max_message) {}

    // False once the stream failed (the probe stops reading then).
    bool feed(std::string_view bytes) {
        decoder_.feed(bytes);
        fed_ += bytes.size();
        while (true) {
            const std::size_t before = decoder_.buffered();
            auto frame = decoder_.next();
            if (!frame) {
                check_error(frame.error());
                // Final: the same error again, and nothing more is kept.
                auto again = decoder_.next();
                SONDE_FUZZ_CHECK(!again && again.error() == frame.error());
                decoder_.feed("\x81\x00");
                SONDE_FUZZ_CHECK(decoder_.buffered() == 0);
                return false;
            }
            if (!frame->has_value()) {
                // Waiting for more: nothing consumed, and at most one frame's worth held.
                SONDE_FUZZ_CHECK(decoder_.buffered() == before);
                SONDE_FUZZ_CHECK(decoder_.buffered() < kWsFuzzMaxHeader + max_payload_);
                SONDE_FUZZ_CHECK(consumed_ + decoder_.buffered() == fed_);
                return true;
            }
            Frame& got = **frame;
            const std::size_t consumed = before - decoder_.buffered();
            consumed_ += consumed;
            SONDE_FUZZ_CHECK(consumed_ <= fed_);
            SONDE_FUZZ_CHECK(consumed >= 2 + got.payload.size());
            SONDE_FUZZ_CHECK(consumed <= kWsFuzzMaxHeader + got.payload.size());
            SONDE_FUZZ_CHECK(got.payload.size() <= max_payload_);
            if (is_control(got.opcode)) {
                SONDE_FUZZ_CHECK(got.fin && got.payload.size() <= 125);
            }
            check_reencode(got, max_payload_, consumed);
            if (!assemble(std::move(got))) {
                return false;
            }
        }
    }

private:
    bool assemble(Frame frame) {
        const Frame copy = frame;
        auto event = assembler_.add(std::move(frame));
        if (!event) {
            check_error(event.error());
            // Only a data frame out of sequence or over the limit is refused.
            SONDE_FUZZ_CHECK(!is_control(copy.opcode));
            return false;
        }
        if (!is_control(copy.opcode)) {
            if (copy.opcode == Opcode::Continuation) {
                SONDE_FUZZ_CHECK(open_.has_value());
            } else {
                SONDE_FUZZ_CHECK(!open_.has_value());
                open_ = copy.opcode;
                model_.clear();
            }
            model_ += copy.payload;
        }
        if (!event->has_value()) {
            SONDE_FUZZ_CHECK(!is_control(copy.opcode) && !copy.fin);
            return true;
        }
        const Event& got = **event;
        switch (got.kind) {
            case Event::Kind::Message:
                SONDE_FUZZ_CHECK(copy.fin && !is_control(copy.opcode));
                SONDE_FUZZ_CHECK(got.opcode == *open_);
                SONDE_FUZZ_CHECK(got.opcode == Opcode::Text || got.opcode == Opcode::Binary);
                SONDE_FUZZ_CHECK(got.data.size() <= max_message_);
                SONDE_FUZZ_CHECK(got.data == model_);
                open_.reset();
                model_.clear();
                break;
            case Event::Kind::Ping:
                SONDE_FUZZ_CHECK(copy.opcode == Opcode::Ping && got.data == copy.payload);
                break;
            case Event::Kind::Pong:
                SONDE_FUZZ_CHECK(copy.opcode == Opcode::Pong && got.data == copy.payload);
                break;
            case Event::Kind::Close:
                SONDE_FUZZ_CHECK(copy.opcode == Opcode::Close && got.data == copy.payload);
                check_close(got.data);
                break;
        }
        return true;
    }

    std::size_t max_payload_;
    std::size_t max_message_;
    FrameDecoder decoder_;
    MessageAssembler assembler_;
    std::size_t fed_ = 0;
    std::size_t consumed_ = 0;
    std::optional<Opcode> open_;  // the model: the message being assembled
    std::string model_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::size_t chunk = data[1] == 0 ? size : data[1];
    std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

    if ((flags & 8) != 0) {
        check_target(input);
    }
    WsFuzzReader reader((flags & 2) != 0 ? 64 : kMaxMessageBytes,
                        (flags & 4) != 0 ? 100 : kMaxMessageBytes);
    // As the probe: the answer's head through the HTTP parser, then the rest to the decoder.
    bool upgrading = (flags & 1) != 0;
    sonde::net::HttpResponseParser parser(sonde::net::HttpResponseLimits{64 * 1024, 64 * 1024});
    while (!input.empty()) {
        std::string_view piece = input.substr(0, std::min(chunk, input.size()));
        input.remove_prefix(piece.size());
        if (upgrading) {
            const std::size_t used = parser.feed(piece);
            SONDE_FUZZ_CHECK(used <= piece.size());
            if (!parser.headers_done()) {
                if (parser.state() == sonde::net::HttpResponseParser::State::Failed) {
                    SONDE_FUZZ_CHECK(!parser.error().empty());
                    return 0;
                }
                continue;
            }
            auto accepted = check_upgrade_response(parser.head(), kWsFuzzKey);
            if (!accepted) {
                check_error(accepted.error());
                return 0;
            }
            SONDE_FUZZ_CHECK(parser.head().status == 101);
            upgrading = false;
            piece.remove_prefix(used);
        }
        if (!reader.feed(piece)) {
            return 0;
        }
    }
    return 0;
}

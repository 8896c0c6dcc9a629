#include "modules/websocket/websocket_frame.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "modules/websocket/websocket_handshake.hpp"

namespace sonde::modules::websocket {
namespace {

constexpr std::array<std::uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (const int v : values) {
        out += static_cast<char>(v);
    }
    return out;
}

// Decodes exactly one frame from wire bytes, fed one byte at a time.
Result<std::optional<Frame>> decode_bytewise(Sender sender, const std::string& wire,
                                             std::size_t limit = 1 << 20) {
    FrameDecoder decoder(sender, limit);
    for (std::size_t i = 0; i < wire.size(); ++i) {
        decoder.feed(wire.substr(i, 1));
        auto frame = decoder.next();
        if (!frame || *frame) {
            return frame;
        }
    }
    return std::optional<Frame>{};
}

TEST_CASE("frames are encoded as RFC 6455 shows them", "[unit][websocket]") {
    // RFC 6455 §5.7: a single-frame unmasked text message "Hello", and the masked one.
    CHECK(encode_frame(Opcode::Text, "Hello", std::nullopt) ==
          bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    CHECK(encode_frame(Opcode::Text, "Hello", kMask) ==
          bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
    // A fragment has no FIN bit.
    CHECK(encode_frame(Opcode::Text, "Hel", std::nullopt, false) == bytes({0x01, 0x03}) + "Hel");
    // 256 bytes take the 16-bit length, 65536 the 64-bit one.
    const std::string medium = encode_frame(Opcode::Binary, std::string(256, 'x'), std::nullopt);
    CHECK(medium.substr(0, 4) == bytes({0x82, 0x7e, 0x01, 0x00}));
    const std::string large = encode_frame(Opcode::Binary, std::string(65536, 'x'), std::nullopt);
    CHECK(large.substr(0, 10) == bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}));
    CHECK(large.size() == 65546);
}

TEST_CASE("frames decode whatever the sizes and the chunking", "[unit][websocket]") {
    for (const std::size_t size : {0UL, 1UL, 125UL, 126UL, 65535UL, 65536UL, 70000UL}) {
        const std::string payload(size, 'p');
        auto server_frame =
            decode_bytewise(Sender::Server, encode_frame(Opcode::Binary, payload, std::nullopt));
        REQUIRE(server_frame.has_value());
        REQUIRE(server_frame->has_value());
        CHECK((*server_frame)->payload == payload);
        CHECK((*server_frame)->opcode == Opcode::Binary);
        // A client's frame is unmasked by the decoder.
        auto client_frame =
            decode_bytewise(Sender::Client, encode_frame(Opcode::Text, payload, kMask));
        REQUIRE(client_frame.has_value());
        REQUIRE(client_frame->has_value());
        CHECK((*client_frame)->payload == payload);
    }
    // Two frames in one chunk come out one by one.
    FrameDecoder decoder(Sender::Server, 1024);
    decoder.feed(encode_frame(Opcode::Text, "one", std::nullopt) +
                 encode_frame(Opcode::Ping, "two", std::nullopt));
    auto first = decoder.next();
    auto second = decoder.next();
    auto third = decoder.next();
    REQUIRE((first && *first && second && *second && third));
    CHECK((*first)->payload == "one");
    CHECK((*second)->opcode == Opcode::Ping);
    CHECK_FALSE(third->has_value());
    CHECK(decoder.buffered() == 0);
}

TEST_CASE("protocol violations are gorilla's errors and final", "[unit][websocket]") {
    const auto error_of = [](Sender sender, const std::string& wire, std::size_t limit = 1024) {
        FrameDecoder decoder(sender, limit);
        decoder.feed(wire);
        auto frame = decoder.next();
        REQUIRE_FALSE(frame.has_value());
        // Final: the decoder stays failed.
        decoder.feed(encode_frame(Opcode::Text, "x", std::nullopt));
        CHECK_FALSE(decoder.next().has_value());
        return frame.error();
    };
    CHECK(error_of(Sender::Server, bytes({0xc1, 0x00})) ==
          "websocket: unexpected reserved bits 0x40");
    CHECK(error_of(Sender::Server, bytes({0x83, 0x00})) == "websocket: unknown opcode 3");
    CHECK(error_of(Sender::Server, bytes({0x09, 0x00})) == "websocket: control frame not final");
    CHECK(error_of(Sender::Server, bytes({0x89, 0x7e, 0x00, 0x7e})) ==
          "websocket: control frame length > 125");
    // A server must not mask, a client must.
    CHECK(error_of(Sender::Server, encode_frame(Opcode::Text, "x", kMask)) ==
          "websocket: incorrect mask flag");
    CHECK(error_of(Sender::Client, encode_frame(Opcode::Text, "x", std::nullopt)) ==
          "websocket: incorrect mask flag");
}

TEST_CASE("an announced length over the limit fails before any payload arrives",
          "[unit][websocket]") {
    // 2^63 and 2^64-1: only the ten header bytes are ever held.
    for (const std::string& wire :
         {bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}),
          bytes({0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
          bytes({0x82, 0x7e, 0x04, 0x01})}) {
        FrameDecoder d(Sender::Server, 1024);
        d.feed(wire);
        auto frame = d.next();
        REQUIRE_FALSE(frame.has_value());
        CHECK(frame.error().find("websocket: read limit exceeded") == 0);
    }
    // Exactly the limit is fine.
    auto at_limit = decode_bytewise(
        Sender::Server, encode_frame(Opcode::Binary, std::string(1024, 'a'), std::nullopt), 1024);
    REQUIRE(at_limit.has_value());
    CHECK(at_limit->has_value());
}

TEST_CASE("fragmented messages are joined; control frames pass between fragments",
          "[unit][websocket]") {
    MessageAssembler assembler(16);
    auto step = [&](Opcode op, std::string payload, bool fin) {
        return assembler.add(Frame{fin, op, std::move(payload)});
    };
    auto r = step(Opcode::Text, "hel", false);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->has_value());
    r = step(Opcode::Ping, "p", true);
    REQUIRE((r && *r));
    CHECK((*r)->kind == Event::Kind::Ping);
    r = step(Opcode::Continuation, "lo", false);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->has_value());
    r = step(Opcode::Continuation, "!", true);
    REQUIRE((r && *r));
    CHECK((*r)->kind == Event::Kind::Message);
    CHECK((*r)->opcode == Opcode::Text);
    CHECK((*r)->data == "hello!");

    SECTION("a continuation with no message started") {
        r = step(Opcode::Continuation, "x", true);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == "websocket: continuation after final message frame");
    }
    SECTION("a new message inside a fragmented one") {
        REQUIRE(step(Opcode::Binary, "a", false).has_value());
        r = step(Opcode::Text, "b", true);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == "websocket: message start before final message frame");
    }
    SECTION("fragments adding up to more than the limit") {
        REQUIRE(step(Opcode::Binary, std::string(10, 'a'), false).has_value());
        r = step(Opcode::Continuation, std::string(7, 'b'), true);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().find("websocket: read limit exceeded") == 0);
    }
}

TEST_CASE("close frames read as gorilla's CloseError", "[unit][websocket]") {
    CHECK(describe_close(close_payload(1000)) == "websocket: close 1000 (normal)");
    CHECK(describe_close(close_payload(1001, "bye")) == "websocket: close 1001 (going away): bye");
    CHECK(describe_close(close_payload(4000, "app")) == "websocket: close 4000: app");
    CHECK(describe_close("") == "websocket: close 1005 (no status)");
}

TEST_CASE("the handshake's key and accept follow RFC 6455", "[unit][websocket]") {
    // RFC 6455 §1.3's example.
    CHECK(websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const std::string key = make_websocket_key();
    CHECK(key.size() == 24);  // 16 bytes in base64
    CHECK(key != make_websocket_key());
}

TEST_CASE("websocket targets are ws:// or wss:// URLs", "[unit][websocket]") {
    auto plain = parse_websocket_target("ws://example.org/chat?room=1");
    REQUIRE(plain.has_value());
    CHECK_FALSE(plain->secure);
    CHECK(plain->host == "example.org");
    CHECK(plain->port == 80);
    CHECK(plain->host_header == "example.org");
    CHECK(plain->request_uri == "/chat?room=1");

    auto secure = parse_websocket_target("wss://[::1]:8443");
    REQUIRE(secure.has_value());
    CHECK(secure->secure);
    CHECK(secure->host == "::1");
    CHECK(secure->port == 8443);
    CHECK(secure->host_header == "[::1]:8443");
    CHECK(secure->request_uri == "/");

    CHECK(parse_websocket_target("wss://example.org")->port == 443);
    for (const char* bad :
         {"http://example.org/", "example.org:80", "ws://user:pw@example.org/", "ws:///path"}) {
        auto target = parse_websocket_target(bad);
        REQUIRE_FALSE(target.has_value());
        CHECK(target.error() == "malformed ws or wss URL");
    }
}

TEST_CASE("the upgrade request and the checks of its answer", "[unit][websocket]") {
    const auto target = parse_websocket_target("ws://example.org:8080/ws");
    REQUIRE(target.has_value());
    net::HttpHeaders configured;
    configured.add("X-Token", "abc");
    auto request = upgrade_request(*target, "dGhlIHNhbXBsZSBub25jZQ==", configured);
    REQUIRE(request.has_value());
    CHECK(*request ==
          "GET /ws HTTP/1.1\r\nHost: example.org:8080\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\nX-Token: abc\r\n\r\n");

    net::HttpHeaders host;
    host.add("Host", "virtual.example");
    request = upgrade_request(*target, "k", host);
    REQUIRE(request.has_value());
    CHECK(request->find("\r\nHost: virtual.example\r\n") != std::string::npos);

    net::HttpHeaders duplicate;
    duplicate.add("Sec-Websocket-Version", "8");
    request = upgrade_request(*target, "k", duplicate);
    REQUIRE_FALSE(request.has_value());
    CHECK(request.error() == "websocket: duplicate header not allowed: Sec-Websocket-Version");

    net::HttpResponseHead head;
    head.status = 101;
    head.headers.add("upgrade", "WebSocket");
    head.headers.add("Connection", "keep-alive, Upgrade");
    head.headers.add("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(check_upgrade_response(head, "dGhlIHNhbXBsZSBub25jZQ==").has_value());
    CHECK_FALSE(check_upgrade_response(head, "another key").has_value());
    head.status = 200;
    auto refused = check_upgrade_response(head, "dGhlIHNhbXBsZSBub25jZQ==");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().find("websocket: bad handshake") == 0);
    head.status = 101;
    head.headers.add("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits");
    refused = check_upgrade_response(head, "dGhlIHNhbXBsZSBub25jZQ==");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == "websocket: invalid compression negotiation");
}

}  // namespace
}  // namespace sonde::modules::websocket

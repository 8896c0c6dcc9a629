#include "modules/websocket/websocket_handshake.hpp"

#include <array>
#include <charconv>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "modules/common/base64.hpp"
#include "modules/common/credentials.hpp"
#include "prober/net/url.hpp"

namespace sonde::modules::websocket {
namespace {

constexpr std::string_view kMalformedUrl = "malformed ws or wss URL";
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// gorilla's tokenListContainsValue: a comma-separated token of any value of `name` equals
// `token`, ignoring case.
bool has_token(const net::HttpHeaders& headers, std::string_view name, std::string_view token) {
    for (const auto& field : headers.fields()) {
        if (!net::iequals(field.name, name)) {
            continue;
        }
        std::string_view rest = field.value;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            std::string_view item = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
                item.remove_prefix(1);
            }
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
                item.remove_suffix(1);
            }
            // An extension's parameters follow a ';'.
            item = item.substr(0, item.find(';'));
            while (!item.empty() && item.back() == ' ') {
                item.remove_suffix(1);
            }
            if (net::iequals(item, token)) {
                return true;
            }
        }
    }
    return false;
}

bool is_handshake_header(std::string_view name) {
    for (const std::string_view reserved : {"Upgrade", "Connection", "Sec-Websocket-Key",
                                            "Sec-Websocket-Version", "Sec-Websocket-Extensions"}) {
        if (net::iequals(name, reserved)) {
            return true;
        }
    }
    return false;
}

}  // namespace

Result<WebsocketTarget> parse_websocket_target(std::string_view text) {
    auto url = net::parse_url(text);
    if (!url) {
        return unexpected(url.error());
    }
    WebsocketTarget target;
    if (url->scheme == "ws") {
        target.secure = false;
    } else if (url->scheme == "wss") {
        target.secure = true;
    } else {
        return unexpected(std::string(kMalformedUrl));
    }
    // User name and password are not allowed in websocket URIs (gorilla).
    if (url->user || !url->opaque.empty() || url->hostname().empty()) {
        return unexpected(std::string(kMalformedUrl));
    }
    target.host = url->hostname();
    target.host_header = url->host;
    target.request_uri = url->request_uri();
    const std::string port = url->port();
    if (port.empty()) {
        target.port = target.secure ? 443 : 80;
        return target;
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
        return unexpected("invalid port \":" + port + "\" after host");
    }
    target.port = static_cast<std::uint16_t>(value);
    return target;
}

std::string make_websocket_key() {
    std::array<unsigned char, 16> nonce{};
    // RAND_bytes only fails when the system has no entropy source at all; the key is still
    // unique enough for a probe then (it only defeats caching proxies).
    (void)RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
    return base64_encode(
        std::string_view(reinterpret_cast<const char*>(nonce.data()), nonce.size()));
}

std::string websocket_accept(std::string_view key) {
    const std::string input = std::string(key) + std::string(kAcceptGuid);
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
    return base64_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Result<net::HttpHeaders> configured_headers(const config::WebsocketProbe& probe) {
    net::HttpHeaders headers;
    if (probe.basic_auth) {
        auto value = basic_auth_header(*probe.basic_auth);
        if (!value) {
            return unexpected(value.error());
        }
        headers.add("Authorization", std::move(*value));
    }
    if (probe.authorization) {
        auto value = authorization_header(*probe.authorization);
        if (!value) {
            return unexpected(value.error());
        }
        if (*value) {
            headers.add("Authorization", std::move(**value));
        }
    }
    if (auto added = add_header_values(probe.headers, headers); !added) {
        return unexpected(added.error());
    }
    return headers;
}

Result<std::string> upgrade_request(const WebsocketTarget& target, std::string_view key,
                                    const net::HttpHeaders& configured) {
    std::string host = target.host_header;
    std::string extra;
    for (const auto& field : configured.fields()) {
        if (net::iequals(field.name, "Host")) {
            host = field.value;
            continue;
        }
        if (is_handshake_header(field.name)) {
            return unexpected("websocket: duplicate header not allowed: " + field.name);
        }
        extra += field.name + ": " + field.value + "\r\n";
    }
    std::string out = "GET " + target.request_uri + " HTTP/1.1\r\nHost: " + host + "\r\n";
    out += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    out += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
    out += "Sec-WebSocket-Version: 13\r\n";
    out += extra;
    out += "\r\n";
    return out;
}

Result<void> check_upgrade_response(const net::HttpResponseHead& head, std::string_view key) {
    std::string why;
    if (head.status != 101) {
        why = "status " + std::to_string(head.status) + ", not 101 Switching Protocols";
    } else if (!has_token(head.headers, "Upgrade", "websocket")) {
        why = "no Upgrade: websocket";
    } else if (!has_token(head.headers, "Connection", "upgrade")) {
        why = "no Connection: upgrade";
    } else {
        const std::string* accept = head.headers.find("Sec-WebSocket-Accept");
        if (accept == nullptr || *accept != websocket_accept(key)) {
            why = "Sec-WebSocket-Accept does not match the key";
        }
    }
    if (!why.empty()) {
        return unexpected("websocket: bad handshake (" + why + ")");
    }
    // sonde asks for no extension; frames compressed by one it cannot read would fail later.
    if (has_token(head.headers, "Sec-WebSocket-Extensions", "permessage-deflate")) {
        return unexpected(std::string("websocket: invalid compression negotiation"));
    }
    return {};
}

}  // namespace sonde::modules::websocket

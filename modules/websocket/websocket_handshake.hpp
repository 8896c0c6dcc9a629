#pragma once

// The websocket opening handshake (RFC 6455 §4) as the exporter's library, gorilla/websocket's
// Dialer, performs it: the target URL's checks, the HTTP/1.1 Upgrade request with the module's
// credentials and headers, and the checks of the server's answer. Error texts are gorilla's
// ("malformed ws or wss URL", "websocket: bad handshake", ...).
//
// Plain functions, no loop affinity, no I/O.

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "prober/core/result.hpp"
#include "prober/net/http_request.hpp"
#include "prober/net/http_response_parser.hpp"

namespace sonde::modules::websocket {

struct WebsocketTarget {
    bool secure = false;      // wss://
    std::string host;         // the name or IP to resolve, without brackets
    std::uint16_t port = 0;   // the URL's, else 80 (ws) or 443 (wss)
    std::string host_header;  // the URL's host[:port], as written
    std::string request_uri;  // "/path?query", "/" when empty
};

// A `ws://` or `wss://` URL; no scheme is assumed (the exporter's target form). Other schemes,
// userinfo and a missing host are gorilla's "malformed ws or wss URL"; what Go's url.Parse
// rejects reads as its error.
Result<WebsocketTarget> parse_websocket_target(std::string_view target);

// A fresh Sec-WebSocket-Key: base64 of 16 random bytes.
std::string make_websocket_key();

// The Sec-WebSocket-Accept a server must answer for key: base64(SHA-1(key + RFC 6455 GUID)).
std::string websocket_accept(std::string_view key);

// The module's Authorization (basic_auth, then authorization) and `headers` (values, secrets,
// files re-read now), as the exporter's constructHeadersFromConfig adds them.
Result<net::HttpHeaders> configured_headers(const config::WebsocketProbe& probe);

// "GET <uri> HTTP/1.1" with Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version
// and the configured headers. A configured Host replaces the URL's; a configured handshake
// header (Upgrade, Connection, Sec-Websocket-Key/-Version/-Extensions) is gorilla's error
// "websocket: duplicate header not allowed: <name>".
Result<std::string> upgrade_request(const WebsocketTarget& target, std::string_view key,
                                    const net::HttpHeaders& configured);

// Whether the server accepted the upgrade: 101, `Upgrade: websocket`, `Connection: upgrade`
// (tokens, any case) and the right Sec-WebSocket-Accept. Else "websocket: bad handshake"
// with what was wrong in parentheses. A permessage-deflate extension the probe did not ask for
// is gorilla's "websocket: invalid compression negotiation".
Result<void> check_upgrade_response(const net::HttpResponseHead& head, std::string_view key);

}  // namespace sonde::modules::websocket

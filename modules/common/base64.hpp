#pragma once

// RFC 4648 base64 (standard alphabet, padded), for Basic credentials and the websocket
// handshake's Sec-WebSocket-Key and Sec-WebSocket-Accept.

#include <string>
#include <string_view>

namespace sonde::modules {

std::string base64_encode(std::string_view data);

}  // namespace sonde::modules

#pragma once

// Pairs a client and a server TlsSession in memory: what one writes, the other is fed. Shared by
// the TLS unit tests (net and modules); no loop, no sockets.

#include <string>

#include "prober/net/tls_session.hpp"

namespace sonde::test {

// Moves the ciphertext waiting in `from` into `to`; returns how many bytes moved.
inline std::size_t transfer(net::TlsSession& from, net::TlsSession& to) {
    const std::string bytes = from.take_output();
    to.feed(bytes);
    return bytes.size();
}

struct HandshakeOutcome {
    net::HandshakeState client;
    net::HandshakeState server;
};

// Steps both sides, moving bytes between them, until no more bytes move.
inline HandshakeOutcome handshake(net::TlsSession& client, net::TlsSession& server) {
    for (int round = 0; round < 16; ++round) {
        (void)client.step();
        const std::size_t to_server = transfer(client, server);
        (void)server.step();
        const std::size_t to_client = transfer(server, client);
        if (to_server == 0 && to_client == 0) {
            break;
        }
    }
    return {client.handshake_state(), server.handshake_state()};
}

}  // namespace sonde::test

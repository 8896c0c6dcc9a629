#include "prober/net/tls_channel.hpp"

#include <utility>

#include <uv.h>

#include "prober/core/uv_error.hpp"

namespace sonde::net {

TlsChannel::TlsChannel(TcpStream& stream, TlsSession session)
    : stream_(stream), session_(std::move(session)) {
}

TlsChannel::~TlsChannel() {
    // The stream may outlive us: make sure it cannot call into a dead channel.
    stream_.stop_reading();
}

void TlsChannel::start(HandshakeCallback on_handshake, DataCallback on_data, EndCallback on_end,
                       std::string_view leftover) {
    on_handshake_ = std::move(on_handshake);
    on_data_ = std::move(on_data);
    on_end_ = std::move(on_end);
    stream_.start_reading([this](std::string_view data) { on_bytes(data, uv_hrtime()); },
                          [this](int status) { on_stream_end(status); });
    if (!leftover.empty()) {
        session_.feed(leftover);
    }
    on_bytes({}, uv_hrtime());
}

void TlsChannel::flush() {
    if (session_.has_output()) {
        stream_.write(session_.take_output());
    }
}

void TlsChannel::on_bytes(std::string_view ciphertext, std::uint64_t at_ns) {
    if (ended_) {
        return;
    }
    if (!ciphertext.empty()) {
        session_.feed(ciphertext);
    }
    if (!handshake_reported_) {
        const HandshakeState state = session_.step();
        flush();
        if (state == HandshakeState::InProgress) {
            return;
        }
        handshake_reported_ = true;
        const bool ok = state == HandshakeState::Done;
        if (!ok) {
            ended_ = true;
            stream_.stop_reading();
        }
        // The callback may start writing; plaintext that arrived with the last handshake
        // flight is delivered after it.
        on_handshake_(ok, at_ns);
        if (!ok) {
            return;
        }
    }
    deliver_plaintext();
}

void TlsChannel::deliver_plaintext() {
    if (ended_) {
        return;
    }
    std::string plaintext;
    const ReadStatus status = session_.read(plaintext);
    flush();
    if (!plaintext.empty() && on_data_) {
        on_data_(plaintext);
    }
    if (ended_) {
        return;  // the data callback finished the conversation
    }
    if (status == ReadStatus::Closed) {
        ended_ = true;
        on_end_("");
    } else if (status == ReadStatus::Failed) {
        ended_ = true;
        on_end_(session_.error());
    }
}

void TlsChannel::on_stream_end(int status) {
    if (ended_) {
        return;
    }
    if (status == UV_EOF) {
        session_.feed_eof();
        if (!handshake_reported_) {
            on_bytes({}, uv_hrtime());
            if (!handshake_reported_) {
                // EOF while the handshake still waited for the peer.
                transport_error_ = "EOF during the TLS handshake";
                handshake_reported_ = true;
                ended_ = true;
                on_handshake_(false, uv_hrtime());
            }
            return;
        }
        deliver_plaintext();
        if (!ended_) {
            ended_ = true;
            on_end_("");
        }
        return;
    }
    ended_ = true;
    const std::string error = uv_error_text(status);
    transport_error_ = error;
    if (!handshake_reported_) {
        handshake_reported_ = true;
        on_handshake_(false, uv_hrtime());
        return;
    }
    on_end_(error);
}

void TlsChannel::stop() {
    ended_ = true;
    handshake_reported_ = true;
    stream_.stop_reading();
}

void TlsChannel::close_notify() {
    session_.shutdown();
    flush();
}

void TlsChannel::write(std::string_view plaintext) {
    auto ok = session_.write(plaintext);
    flush();
    (void)ok;  // a failed write surfaces as an error on the next read
}

}  // namespace sonde::net

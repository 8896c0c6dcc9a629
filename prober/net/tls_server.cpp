#include "prober/net/tls_server.hpp"

#include <utility>

#include <uv.h>

namespace sonde::net {

Result<void> ServerStream::use_tls(std::shared_ptr<const TlsServerContext> context,
                                   HandshakeCallback on_handshake) {
    auto session = TlsSession::server(std::move(context));
    if (!session) {
        return Error{session.error()};
    }
    tls_.emplace(std::move(*session));
    on_handshake_ = std::move(on_handshake);
    return {};
}

void ServerStream::start_reading(DataCallback on_data, EndCallback on_end) {
    if (!tls_) {
        tcp_.start_reading(std::move(on_data), std::move(on_end));
        return;
    }
    on_data_ = std::move(on_data);
    on_end_ = std::move(on_end);
    if (ended_) {
        return;
    }
    tcp_.start_reading([this](std::string_view bytes) { on_ciphertext(bytes); },
                       [this](int status) { on_tcp_end(status); });
}

void ServerStream::stop_reading() {
    tcp_.stop_reading();
}

void ServerStream::flush() {
    if (tls_ && tls_->has_output()) {
        tcp_.write(tls_->take_output());
    }
}

void ServerStream::handshake_over(bool ok) {
    handshake_done_ = true;
    if (!ok) {
        ended_ = true;
        tcp_.stop_reading();
    }
    if (on_handshake_) {
        auto callback = std::move(on_handshake_);
        callback(ok);
    }
}

void ServerStream::on_ciphertext(std::string_view bytes) {
    if (ended_) {
        return;
    }
    tls_->feed(bytes);
    if (!handshake_done_) {
        const HandshakeState state = tls_->step();
        flush();
        if (state == HandshakeState::InProgress) {
            return;
        }
        const auto closed = closed_;
        handshake_over(state == HandshakeState::Done);
        if (*closed || ended_) {
            return;
        }
    }
    (void)deliver();
}

bool ServerStream::deliver() {
    std::string plaintext;
    const ReadStatus status = tls_->read(plaintext);
    flush();
    const auto closed = closed_;
    if (!plaintext.empty() && on_data_) {
        on_data_(plaintext);
        if (*closed || ended_) {
            return false;
        }
    }
    if (status == ReadStatus::Open) {
        return true;
    }
    ended_ = true;
    if (on_end_) {
        on_end_(status == ReadStatus::Closed ? UV_EOF : UV_EPROTO);
    }
    return false;
}

void ServerStream::on_tcp_end(int status) {
    if (ended_) {
        return;
    }
    if (status == UV_EOF) {
        tls_->feed_eof();
    }
    if (!handshake_done_) {
        // EOF or a socket error before the handshake completed: there is nothing to read.
        handshake_over(false);
        return;
    }
    if (status == UV_EOF && !deliver()) {
        return;
    }
    ended_ = true;
    if (on_end_) {
        on_end_(status);
    }
}

void ServerStream::write(std::string data, WriteCallback done) {
    if (!tls_) {
        tcp_.write(std::move(data), std::move(done));
        return;
    }
    auto written = tls_->write(data);
    std::string ciphertext = tls_->take_output();
    if (!written) {
        tcp_.write(std::move(ciphertext), [done = std::move(done)](int) {
            if (done) {
                done(UV_EPROTO);
            }
        });
        return;
    }
    tcp_.write(std::move(ciphertext), std::move(done));
}

void ServerStream::shutdown_write() {
    if (tls_ && handshake_done_ && tls_->handshake_state() == HandshakeState::Done) {
        tls_->shutdown();
        flush();
    }
    tcp_.shutdown_write();
}

void ServerStream::close() {
    *closed_ = true;
    ended_ = true;
    tcp_.close();
}

}  // namespace sonde::net

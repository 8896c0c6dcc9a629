#include "modules/tcp/tcp_probe.hpp"

#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "modules/common/query_response.hpp"
#include "modules/common/stream_session.hpp"
#include "modules/common/target_address.hpp"
#include "modules/common/tls_metrics.hpp"
#include "prober/core/uv_error.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"

namespace sonde::modules::tcp {
namespace {

class TcpProbeSession final : public StreamSession {
public:
    TcpProbeSession(ProbeContext& ctx, ProbeDone done)
        : StreamSession(ctx, std::move(done)),
          config_(ctx.module.tcp),
          tls_(config_.tls),
          query_response_(config_.query_response) {}
    // The unix prober: the module's unix block instead of its tcp block.
    TcpProbeSession(ProbeContext& ctx, ProbeDone done, const config::UnixProbe& unix_socket)
        : StreamSession(ctx, std::move(done)),
          config_(ctx.module.tcp),
          tls_(unix_socket.tls),
          query_response_(unix_socket.query_response) {}

    // The target is the socket's path.
    void start_unix() {
        path_ = ctx_.target;
        ctx_.log.info(tls_ ? "Dialing unix socket with TLS" : "Dialing unix socket without TLS",
                      {{"path", path_}});
        stream_ = std::make_unique<net::TcpStream>(ctx_.loop);
        auto started = stream_->connect_unix(
            path_, [this](int status, std::uint64_t at) { on_connected(status, at); });
        if (!started) {
            fail_later(FailureKind::Connect, "Error dialing unix socket",
                       "dial unix " + path_ + ": connect: " + started.error());
        }
    }

    void start() {
        auto dial = parse_dial_target(ctx_.target, config_.source_ip_address);
        if (auto* error = std::get_if<DialTargetError>(&dial)) {
            fail_later(error->bad_source ? FailureKind::Internal : FailureKind::Resolve,
                       error->message, std::move(error->reason));
            return;
        }
        auto& target = std::get<DialTarget>(dial);
        host_ = std::move(target.host);
        port_ = target.port;
        source_ = target.source;
        ctx_.log.info("Resolving target address", {{"target", host_}});
        resolving_ = resolve_target(
            ctx_.resolver, host_, config_.preferred_ip_protocol, config_.ip_protocol_fallback,
            ctx_.remaining_ms(), ctx_.registry,
            [this](Result<net::IpAddress> address) { on_resolved(std::move(address)); });
    }

private:
    void on_resolved(Result<net::IpAddress> address) {
        if (!address) {
            ctx_.log.error("Error resolving address", {{"err", address.error()}});
            finish(ProbeOutcome::fail(FailureKind::Resolve, address.error()));
            return;
        }
        address_ = *address;
        ctx_.log.info("Resolved target address", {{"target", host_}, {"ip", address_.to_string()}});
        ctx_.log.info(config_.tls ? "Dialing TCP with TLS" : "Dialing TCP without TLS");
        stream_ = std::make_unique<net::TcpStream>(ctx_.loop);
        auto started =
            stream_->connect(address_, port_, source_ ? &*source_ : nullptr,
                             [this](int status, std::uint64_t at) { on_connected(status, at); });
        if (!started) {
            ctx_.log.error("Error dialing TCP", {{"err", started.error()}});
            fail_later(FailureKind::Connect, "", started.error());
        }
    }

    void on_connected(int status, std::uint64_t /*at_ns*/) {
        if (status != 0 && is_unix()) {
            // As the exporter words it; other errors as Go's net package does.
            const std::string reason =
                status == UV_EACCES || status == UV_EPERM
                    ? "permission denied connecting to unix socket " + path_
                    : "dial unix " + path_ + ": connect: " + uv_error_text(status);
            ctx_.log.error("Error dialing unix socket", {{"err", reason}});
            finish(ProbeOutcome::fail(FailureKind::Connect, reason));
            return;
        }
        if (status != 0) {
            const std::string reason = "dial tcp " + endpoint() + ": " + uv_error_text(status);
            ctx_.log.error("Error dialing TCP", {{"err", reason}});
            finish(ProbeOutcome::fail(FailureKind::Connect, reason));
            return;
        }
        dialog_.emplace(query_response_, ctx_.registry, ctx_.log);
        if (tls_) {
            start_tls(/*starttls=*/false);
            return;
        }
        ctx_.log.info("Successfully dialed");
        stream_->start_reading(
            [this](std::string_view data) {
                dialog_->on_data(data);
                drive();
            },
            [this](int end_status) {
                dialog_->on_end(end_status == UV_EOF ? std::string() : uv_error_text(end_status));
                drive();
            });
        drive();
    }

    // TLS from the first byte (`tls: true`) or upgraded by a `starttls` step. The server name
    // is tls_config.server_name, else the `hostname` parameter, else the target's host.
    void start_tls(bool starttls) {
        if (!ctx_.tls) {
            finish(ProbeOutcome::fail(FailureKind::Internal, "no TLS context for this module"));
            return;
        }
        const std::string& name = ctx_.hostname.empty() ? host_ : ctx_.hostname;
        auto session = net::TlsSession::client(ctx_.tls, name);
        if (!session) {
            ctx_.log.error("Error creating TLS session", {{"err", session.error()}});
            finish(ProbeOutcome::fail(FailureKind::Tls, session.error()));
            return;
        }
        channel_ = std::make_unique<net::TlsChannel>(*stream_, std::move(*session));
        channel_->start(
            [this, starttls](bool ok, std::uint64_t /*at_ns*/) {
                if (!ok) {
                    const std::string reason = channel_->error();
                    ctx_.log.error(starttls    ? "TLS Handshake (client) failed"
                                   : is_unix() ? "Error dialing unix socket"
                                               : "Error dialing TCP",
                                   {{"err", reason}});
                    finish(ProbeOutcome::fail(FailureKind::Tls, reason));
                    return;
                }
                record_tls_metrics(ctx_.registry, channel_->session(), false);
                if (starttls) {
                    ctx_.log.debug("TLS Handshake (client) succeeded.");
                    dialog_->tls_started();
                } else {
                    ctx_.log.info("Successfully dialed");
                }
                drive();
            },
            [this](std::string_view plaintext) {
                dialog_->on_data(plaintext);
                drive();
            },
            [this](const std::string& error) {
                dialog_->on_end(error);
                drive();
            });
    }

    void send(std::string bytes) {
        if (channel_) {
            channel_->write(bytes);
            return;
        }
        stream_->write(std::move(bytes), [this](int status) {
            if (status != 0 && !finished_) {
                ctx_.log.error("Failed to send", {{"err", uv_error_text(status)}});
                finish(ProbeOutcome::fail(FailureKind::Protocol, "send: " + uv_error_text(status)));
            }
        });
    }

    // Runs the dialog until it has to wait; writes are queued in order on the stream.
    void drive() {
        // After success the session only waits for its last write to flush; a late read (the
        // server talking on, or closing) must not turn that success into a failure.
        if (finished_ || succeeded_) {
            return;
        }
        for (;;) {
            auto action = dialog_->next();
            switch (action.kind) {
                case QueryResponseDialog::Kind::WaitForData:
                    return;
                case QueryResponseDialog::Kind::Send:
                    send(std::move(action.bytes));
                    if (finished_) {
                        return;
                    }
                    continue;
                case QueryResponseDialog::Kind::StartTls:
                    if (channel_) {
                        finish(ProbeOutcome::fail(FailureKind::Protocol,
                                                  "starttls on a connection that is already TLS"));
                        return;
                    }
                    // Not from inside the stream's read callback, whose callbacks the TLS
                    // channel is about to replace.
                    ctx_.loop.post(alive_, [this] {
                        if (!finished_) {
                            start_tls(/*starttls=*/true);
                        }
                    });
                    return;
                case QueryResponseDialog::Kind::Succeeded:
                    succeeded_ = true;
                    // The last `send` must reach the server before the socket closes.
                    stream_->when_flushed([this](int status) {
                        if (status != 0) {
                            finish(ProbeOutcome::fail(FailureKind::Protocol,
                                                      "send: " + uv_error_text(status)));
                            return;
                        }
                        finish(ProbeOutcome::ok());
                    });
                    return;
                case QueryResponseDialog::Kind::Failed:
                    finish(ProbeOutcome::fail(FailureKind::Validation, action.reason));
                    return;
            }
        }
    }

    bool is_unix() const { return !path_.empty(); }

    std::string endpoint() const {
        const std::string ip = address_.to_string();
        return (address_.is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(port_);
    }

    const config::TcpProbe& config_;  // the tcp prober's IP options
    const bool tls_;
    const std::vector<config::QueryResponse>& query_response_;
    std::string path_;  // the unix prober's socket
    std::string host_;
    std::uint16_t port_ = 0;
    std::optional<net::IpAddress> source_;
    net::IpAddress address_;
    std::unique_ptr<net::ResolveRequest> resolving_;
    std::optional<QueryResponseDialog> dialog_;
    bool succeeded_ = false;  // the dialog succeeded; waiting for the last write to flush
};

}  // namespace

std::unique_ptr<ProbeSession> start_tcp_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<TcpProbeSession>(ctx, std::move(done));
    session->start();
    return session;
}

std::unique_ptr<ProbeSession> start_unix_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<TcpProbeSession>(ctx, std::move(done), ctx.module.unix_socket);
    session->start_unix();
    return session;
}

}  // namespace sonde::modules::tcp

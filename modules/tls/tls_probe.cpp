#include "modules/tls/tls_probe.hpp"

#include <ctime>
#include <optional>
#include <string>

#include <prometheus/gauge.h>
#include <uv.h>

#include "modules/common/stream_session.hpp"
#include "modules/common/target_address.hpp"
#include "modules/common/tls_metrics.hpp"
#include "modules/tls/starttls_dialog.hpp"
#include "modules/tls/tls_checks.hpp"
#include "prober/core/uv_error.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/ocsp_staple.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"

namespace sonde::modules::tls {
namespace {

double tls_phase_seconds(std::uint64_t from_ns, std::uint64_t to_ns) {
    return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

class TlsProbeSession final : public StreamSession {
public:
    TlsProbeSession(ProbeContext& ctx, ProbeDone done)
        : StreamSession(ctx, std::move(done)), config_(ctx.module.tls) {}

    void start() {
        // Every phase the probe goes through is present from the start, 0 until it is timed.
        auto& phases = prometheus::BuildGauge()
                           .Name("probe_tls_duration_seconds")
                           .Help("Duration of tls probe phases in seconds")
                           .Register(ctx_.registry);
        resolve_phase_ = &phases.Add({{"phase", "resolve"}});
        connect_phase_ = &phases.Add({{"phase", "connect"}});
        if (config_.starttls != config::StartTls::None) {
            starttls_phase_ = &phases.Add({{"phase", "starttls"}});
        }
        handshake_phase_ = &phases.Add({{"phase", "handshake"}});

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
        phase_start_ns_ = uv_hrtime();
        resolving_ = resolve_target(
            ctx_.resolver, host_, config_.preferred_ip_protocol, config_.ip_protocol_fallback,
            ctx_.remaining_ms(), ctx_.registry,
            [this](Result<net::IpAddress> address) { on_resolved(std::move(address)); });
    }

private:
    void on_resolved(Result<net::IpAddress> address) {
        const std::uint64_t now = uv_hrtime();
        resolve_phase_->Set(tls_phase_seconds(phase_start_ns_, now));
        if (!address) {
            ctx_.log.error("Error resolving address", {{"err", address.error()}});
            finish(ProbeOutcome::fail(FailureKind::Resolve, address.error()));
            return;
        }
        address_ = *address;
        ctx_.log.info("Resolved target address", {{"target", host_}, {"ip", address_.to_string()}});
        stream_ = std::make_unique<net::TcpStream>(ctx_.loop);
        phase_start_ns_ = now;
        auto started =
            stream_->connect(address_, port_, source_ ? &*source_ : nullptr,
                             [this](int status, std::uint64_t at) { on_connected(status, at); });
        if (!started) {
            ctx_.log.error("Error dialing TCP", {{"err", started.error()}});
            fail_later(FailureKind::Connect, "", started.error());
        }
    }

    void on_connected(int status, std::uint64_t at_ns) {
        connect_phase_->Set(tls_phase_seconds(phase_start_ns_, at_ns));
        phase_start_ns_ = at_ns;
        if (status != 0) {
            const std::string reason = "dial tcp " + endpoint() + ": " + uv_error_text(status);
            ctx_.log.error("Error dialing TCP", {{"err", reason}});
            finish(ProbeOutcome::fail(FailureKind::Connect, reason));
            return;
        }
        ctx_.log.info("Successfully dialed");
        if (config_.starttls == config::StartTls::None) {
            start_handshake();
            return;
        }
        ctx_.log.info("Starting STARTTLS", {{"protocol", config::starttls_name(config_.starttls)}});
        dialog_.emplace(config_.starttls);
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

    // Runs the STARTTLS dialog until it has to wait for the server.
    void drive() {
        if (finished_ || upgrading_) {
            return;
        }
        for (;;) {
            auto action = dialog_->next();
            switch (action.kind) {
                case StartTlsDialog::Kind::WaitForData:
                    return;
                case StartTlsDialog::Kind::Send:
                    stream_->write(std::move(action.bytes), [this](int status) {
                        if (status != 0 && !finished_) {
                            finish(ProbeOutcome::fail(FailureKind::Protocol,
                                                      "starttls: send: " + uv_error_text(status)));
                        }
                    });
                    continue;
                case StartTlsDialog::Kind::Failed:
                    ctx_.log.error("STARTTLS failed", {{"err", action.bytes}});
                    finish(ProbeOutcome::fail(FailureKind::Protocol, std::move(action.bytes)));
                    return;
                case StartTlsDialog::Kind::Upgrade: {
                    upgrading_ = true;
                    const std::uint64_t now = uv_hrtime();
                    starttls_phase_->Set(tls_phase_seconds(phase_start_ns_, now));
                    phase_start_ns_ = now;
                    stream_->stop_reading();
                    // Not from inside the stream's read callback, whose callbacks the TLS
                    // channel is about to replace.
                    ctx_.loop.post(alive_, [this] {
                        if (!finished_) {
                            start_handshake();
                        }
                    });
                    return;
                }
            }
        }
    }

    // The server name is tls_config.server_name, else the `hostname` parameter, else the
    // target's host (as the tcp prober).
    void start_handshake() {
        if (!ctx_.tls) {
            finish(ProbeOutcome::fail(FailureKind::Internal, "no TLS context for this module"));
            return;
        }
        const std::string& name = ctx_.hostname.empty() ? host_ : ctx_.hostname;
        auto session = net::TlsSession::client(ctx_.tls, name);
        if (!session) {
            ctx_.log.error("Error creating TLS session", {{"err", session.error()}});
            fail_later(FailureKind::Tls, "", session.error());
            return;
        }
        session->request_ocsp_status();
        phase_start_ns_ = uv_hrtime();
        channel_ = std::make_unique<net::TlsChannel>(*stream_, std::move(*session));
        channel_->start([this](bool ok, std::uint64_t at_ns) { on_handshake(ok, at_ns); },
                        // Nothing is read after the handshake: the server's data (or its
                        // close) cannot change the verdict any more.
                        [](std::string_view) {}, [](const std::string&) {});
    }

    void on_handshake(bool ok, std::uint64_t at_ns) {
        handshake_phase_->Set(tls_phase_seconds(phase_start_ns_, at_ns));
        if (!ok) {
            const std::string reason = channel_->error();
            ctx_.log.error("TLS handshake failed", {{"err", reason}});
            finish(ProbeOutcome::fail(FailureKind::Tls, reason));
            return;
        }
        const net::TlsSession& session = channel_->session();
        ctx_.log.info("TLS handshake succeeded",
                      {{"version", session.version()}, {"cipher", session.cipher()}});
        record_tls_metrics(ctx_.registry, session, /*include_cipher=*/true);
        ProbeOutcome verdict = ProbeOutcome::ok();

        if (config_.fail_if_expires_within.count() > 0) {
            const auto expiring = find_expiring_certificate(session, config_.fail_if_expires_within,
                                                            std::time(nullptr));
            record_expiry_check_metric(ctx_.registry, expiring.has_value());
            if (expiring) {
                ctx_.log.error("Certificate expires soon", {{"err", *expiring}});
                verdict = ProbeOutcome::fail(FailureKind::Validation, *expiring);
            }
        }

        const net::OcspStaple staple = net::read_ocsp_staple(session);
        record_ocsp_metrics(ctx_.registry, staple);
        if (staple.stapled && !staple.detail.empty()) {
            ctx_.log.info("Stapled OCSP response", {{"detail", staple.detail}});
        }
        if (staple.stapled && staple.status == net::OcspStatus::Revoked && verdict.success) {
            verdict = ProbeOutcome::fail(FailureKind::Validation, staple.detail);
        }

        // Handshake only: say goodbye politely, and finish once close_notify left.
        channel_->close_notify();
        stream_->when_flushed([this, verdict = std::move(verdict)](int status) mutable {
            if (status != 0) {
                ctx_.log.debug("close_notify not sent", {{"err", uv_error_text(status)}});
            }
            finish(std::move(verdict));
        });
    }

    std::string endpoint() const {
        const std::string ip = address_.to_string();
        return (address_.is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(port_);
    }

    const config::TlsProbe& config_;
    std::string host_;
    std::uint16_t port_ = 0;
    std::optional<net::IpAddress> source_;
    net::IpAddress address_;
    prometheus::Gauge* resolve_phase_ = nullptr;
    prometheus::Gauge* connect_phase_ = nullptr;
    prometheus::Gauge* starttls_phase_ = nullptr;
    prometheus::Gauge* handshake_phase_ = nullptr;
    std::uint64_t phase_start_ns_ = 0;
    std::unique_ptr<net::ResolveRequest> resolving_;
    std::optional<StartTlsDialog> dialog_;
    bool upgrading_ = false;
};

}  // namespace

std::unique_ptr<ProbeSession> start_tls_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<TlsProbeSession>(ctx, std::move(done));
    session->start();
    return session;
}

}  // namespace sonde::modules::tls

#include "modules/grpc/grpc_probe.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include <prometheus/gauge.h>
#include <uv.h>

#include "config/ascii.hpp"
#include "modules/common/base64.hpp"
#include "modules/common/target_address.hpp"
#include "modules/common/tls_metrics_format.hpp"
#include "modules/grpc/grpc_health.hpp"
#include "prober/net/http_client.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/resolver.hpp"

namespace sonde::modules::grpc {
namespace {

constexpr const char* kHealthCheckPath = "/grpc.health.v1.Health/Check";
constexpr const char* kServingStatuses[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

// The exporter's target forms: host:port or host, with or without an http:// or https://
// prefix (which does not choose TLS; `tls` does). Without a port: 80, or 443 with TLS.
struct GrpcTarget {
    std::string host;  // brackets removed from an IPv6 literal
    std::uint16_t port = 0;
};

std::optional<GrpcTarget> parse_grpc_target(std::string_view target, bool tls) {
    for (std::string_view prefix : {"http://", "https://"}) {
        if (target.substr(0, prefix.size()) == prefix) {
            target.remove_prefix(prefix.size());
            break;
        }
    }
    // url.Parse's Host: up to the path, query or fragment.
    target = target.substr(0, target.find_first_of("/?#"));
    GrpcTarget out;
    out.port = tls ? 443 : 80;
    if (auto host_port = net::split_host_port(target)) {
        unsigned port = 0;
        const std::string& text = host_port->port;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port == 0 ||
            port > 65535) {
            return std::nullopt;
        }
        out.host = host_port->host;
        out.port = static_cast<std::uint16_t>(port);
    } else {
        out.host = std::string(target);
        if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
            out.host = out.host.substr(1, out.host.size() - 2);
        }
    }
    if (out.host.empty()) {
        return std::nullopt;
    }
    return out;
}

// Fields the call itself sets (or HTTP/2 owns): grpc-go's isReservedHeader, and pseudo-fields.
bool is_reserved_grpc_header(std::string_view key) {
    return key.empty() || key.front() == ':' || key == "content-type" || key == "user-agent" ||
           key == "te" || key == "grpc-timeout" || key == "grpc-encoding" ||
           key == "grpc-message-type" || key == "grpc-message" || key == "grpc-status" ||
           key == "grpc-status-details-bin";
}

// Binary metadata ("-bin" keys) travels base64-encoded without padding, as grpc-go sends it.
std::string grpc_metadata_value(std::string_view key, const std::string& value) {
    if (key.size() < 4 || key.substr(key.size() - 4) != "-bin") {
        return value;
    }
    std::string encoded = base64_encode(value);
    while (!encoded.empty() && encoded.back() == '=') {
        encoded.pop_back();
    }
    return encoded;
}

std::string grpc_authority(const GrpcTarget& target) {
    const bool v6 = target.host.find(':') != std::string::npos;
    return (v6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
}

class GrpcProbeSession final : public ProbeSession {
public:
    GrpcProbeSession(ProbeContext& ctx, ProbeDone done)
        : ctx_(ctx),
          config_(ctx.module.grpc),
          done_(std::move(done)),
          duration_(prometheus::BuildGauge()
                        .Name("probe_grpc_duration_seconds")
                        .Help("Duration of gRPC request by phase")
                        .Register(ctx.registry)),
          ssl_(prometheus::BuildGauge()
                   .Name("probe_grpc_ssl")
                   .Help("Indicates if SSL was used for the connection")
                   .Register(ctx.registry)
                   .Add({})),
          status_code_(prometheus::BuildGauge()
                           .Name("probe_grpc_status_code")
                           .Help("Response gRPC status code")
                           .Register(ctx.registry)
                           .Add({})),
          healthcheck_(prometheus::BuildGauge()
                           .Name("probe_grpc_healthcheck_response")
                           .Help("Response HealthCheck response")
                           .Register(ctx.registry)),
          earliest_expiry_(prometheus::BuildGauge()
                               .Name("probe_ssl_earliest_cert_expiry")
                               .Help("Returns last SSL chain expiry in unixtime")
                               .Register(ctx.registry)
                               .Add({})) {
        duration_.Add({{"phase", "resolve"}});
    }

    // The deadline passed with the call open: the exporter would still be waiting; sonde says
    // DEADLINE_EXCEEDED, as a gRPC client with a deadline does.
    ~GrpcProbeSession() override {
        if (exchange_ && !finished_) {
            record_call_end(kGrpcDeadlineExceeded, std::nullopt);
        }
    }

    void start() {
        auto target = parse_grpc_target(ctx_.target, config_.tls);
        if (!target) {
            fail_later(FailureKind::Resolve, "Could not parse target URL",
                       "invalid gRPC target " + ctx_.target);
            return;
        }
        target_ = std::move(*target);
        ctx_.log.info("Resolving target address", {{"target", target_.host}});
        resolving_ = resolve_target(
            ctx_.resolver, target_.host, config_.preferred_ip_protocol,
            config_.ip_protocol_fallback, ctx_.remaining_ms(), ctx_.registry,
            [this](Result<net::IpAddress> address) { on_resolved(std::move(address)); });
    }

private:
    void on_resolved(Result<net::IpAddress> address) {
        resolve_done_ns_ = uv_hrtime();
        duration_.Add({{"phase", "resolve"}})
            .Set(static_cast<double>(resolve_done_ns_ - start_ns_) / 1e9);
        if (!address) {
            ctx_.log.error("Error resolving address", {{"err", address.error()}});
            finish(ProbeOutcome::fail(FailureKind::Resolve, address.error()));
            return;
        }
        ctx_.log.info("Resolved target address",
                      {{"target", target_.host}, {"ip", address->to_string()}});
        if (config_.tls && !ctx_.tls) {
            finish(ProbeOutcome::fail(FailureKind::Internal, "no TLS context for this module"));
            return;
        }
        ctx_.log.debug(config_.tls ? "Dialing GRPC with TLS" : "Dialing GRPC without TLS");

        net::HttpExchangeOptions options;
        options.address = *address;
        options.port = target_.port;
        options.http2 = net::Http2Mode::Required;
        options.limits.max_body_bytes = kMaxGrpcMessageBytes + 5;
        if (config_.tls) {
            options.tls = ctx_.tls;
            // tls_config.server_name wins inside the TLS session; else the target's host.
            options.server_name = target_.host;
        }
        net::HttpClientRequest request;
        request.method = "POST";
        request.target = kHealthCheckPath;
        request.headers.add("Host", grpc_authority(target_));
        request.headers.add("content-type", "application/grpc");
        request.headers.add("te", "trailers");
        request.headers.add("user-agent", "sonde-grpc-health");
        request.headers.add("grpc-timeout", grpc_timeout_value(ctx_.remaining_ms()));
        for (const auto& [name, values] : config_.metadata) {
            const std::string key = config::ascii_lower(name);
            if (is_reserved_grpc_header(key)) {
                continue;  // grpc-go drops these from user metadata too
            }
            for (const auto& value : values) {
                request.headers.add(key, grpc_metadata_value(key, value));
            }
        }
        request.body = encode_health_check_request(config_.service);

        exchange_ = std::make_unique<net::HttpExchange>(ctx_.loop);
        exchange_->start(std::move(options), std::move(request),
                         [this](std::optional<net::HttpError> error) { on_response(error); });
    }

    void on_response(const std::optional<net::HttpError>& error) {
        if (error) {
            // No call status came back: grpc-go reports the transport failure as UNAVAILABLE.
            const int code = error->kind == net::HttpErrorKind::BodyTooLarge
                                 ? kGrpcResourceExhausted
                                 : kGrpcUnavailable;
            record_call_end(code, std::nullopt);
            const std::string reason =
                "rpc error: code = " + grpc_code_name(code) + " desc = " + error->message;
            ctx_.log.error("can't connect grpc server:", {{"err", reason}});
            finish(ProbeOutcome::fail(error->kind == net::HttpErrorKind::Tls ? FailureKind::Tls
                                      : error->kind == net::HttpErrorKind::Connect
                                          ? FailureKind::Connect
                                          : FailureKind::Protocol,
                                      reason));
            return;
        }
        const net::HttpClientResponse& response = exchange_->response();
        const net::HttpHeaders* status_fields = response.head_ended_stream ? &response.head.headers
                                                : response.trailers_received ? &response.trailers
                                                                             : nullptr;
        const GrpcCallResult call = read_health_check_call(
            response.head.status, response.head.headers, response.body, status_fields);
        record_call_end(call.code, call.serving_status);
        if (call.code != kGrpcOk) {
            const std::string reason =
                "rpc error: code = " + grpc_code_name(call.code) + " desc = " + call.message;
            ctx_.log.error("can't connect grpc server:", {{"err", reason}});
            finish(ProbeOutcome::fail(FailureKind::Protocol, reason));
            return;
        }
        // A response came back: the exporter's serverPeer is known.
        ssl_.Set(exchange_->used_tls() ? 1 : 0);
        if (const net::TlsSession* session = exchange_->tls_session()) {
            record_grpc_tls_metrics(*session);
        }
        const std::string serving = serving_status_name(*call.serving_status);
        if (*call.serving_status != kServingStatusServing) {
            const std::string reason = "the service is " + serving;
            ctx_.log.error("can't connect grpc server:", {{"err", reason}});
            finish(ProbeOutcome::fail(FailureKind::Validation, reason));
            return;
        }
        ctx_.log.debug("connect the grpc server successfully");
        finish(ProbeOutcome::ok());
    }

    // After the call (answered, failed or cut by the deadline): the check phase, the status
    // code, and the four serving statuses (all 0 but the one returned, as the exporter).
    void record_call_end(int code, std::optional<int> serving_status) {
        duration_.Add({{"phase", "check"}})
            .Set(static_cast<double>(uv_hrtime() - resolve_done_ns_) / 1e9);
        status_code_.Set(code);
        for (const char* name : kServingStatuses) {
            healthcheck_.Add({{"serving_status", name}}).Set(0);
        }
        if (serving_status) {
            healthcheck_.Add({{"serving_status", serving_status_name(*serving_status)}}).Set(1);
        }
    }

    // The exporter's gRPC prober sets these three only (no last-chain expiry, no cipher).
    void record_grpc_tls_metrics(const net::TlsSession& session) {
        const auto chain = session.peer_chain();
        if (chain.empty()) {
            return;
        }
        double earliest = not_after_unix(chain.front());
        for (const X509* cert : chain) {
            earliest = std::min(earliest, not_after_unix(cert));
        }
        earliest_expiry_.Set(earliest);
        prometheus::BuildGauge()
            .Name("probe_tls_version_info")
            .Help("Returns the TLS version used or NaN when unknown")
            .Register(ctx_.registry)
            .Add({{"version", session.version()}})
            .Set(1);
        const X509* leaf = chain.front();
        prometheus::BuildGauge()
            .Name("probe_ssl_last_chain_info")
            .Help("Contains SSL leaf certificate information")
            .Register(ctx_.registry)
            .Add({{"fingerprint_sha256", sha256_fingerprint(leaf)},
                  {"subject", go_name_string(X509_get_subject_name(leaf))},
                  {"issuer", go_name_string(X509_get_issuer_name(leaf))},
                  {"subjectalternative", dns_names_joined(leaf)},
                  {"serialnumber", go_serial_hex(leaf)}})
            .Set(1);
    }

    void fail_later(FailureKind kind, const char* message, std::string reason) {
        ctx_.log.error(message, {{"err", reason}});
        ctx_.loop.post(alive_, [this, kind, reason = std::move(reason)]() mutable {
            finish(ProbeOutcome::fail(kind, std::move(reason)));
        });
    }

    void finish(ProbeOutcome outcome) {
        if (finished_) {
            return;
        }
        finished_ = true;
        auto done = std::move(done_);
        done(std::move(outcome));  // last statement: the runner may now delete this session
    }

    ProbeContext& ctx_;
    const config::GrpcProbe& config_;
    ProbeDone done_;
    prometheus::Family<prometheus::Gauge>& duration_;
    prometheus::Gauge& ssl_;
    prometheus::Gauge& status_code_;
    prometheus::Family<prometheus::Gauge>& healthcheck_;
    prometheus::Gauge& earliest_expiry_;
    GrpcTarget target_;
    std::uint64_t start_ns_ = uv_hrtime();
    std::uint64_t resolve_done_ns_ = 0;
    std::unique_ptr<net::ResolveRequest> resolving_;
    std::unique_ptr<net::HttpExchange> exchange_;
    bool finished_ = false;
    Alive alive_;  // last member: posted work sees the session gone
};

}  // namespace

std::unique_ptr<ProbeSession> start_grpc_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<GrpcProbeSession>(ctx, std::move(done));
    session->start();
    return session;
}

}  // namespace sonde::modules::grpc

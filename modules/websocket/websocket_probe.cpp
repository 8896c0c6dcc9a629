#include "modules/websocket/websocket_probe.hpp"

#include <array>
#include <deque>
#include <optional>
#include <string>

#include <openssl/rand.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <uv.h>

#include "modules/common/regex_expand.hpp"
#include "modules/common/stream_session.hpp"
#include "modules/common/target_address.hpp"
#include "modules/websocket/websocket_frame.hpp"
#include "modules/websocket/websocket_handshake.hpp"
#include "prober/core/uv_error.hpp"
#include "prober/net/http_response_parser.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"

namespace sonde::modules::websocket {
namespace {

constexpr std::size_t kMaxUnsentPongBytes = 1024 * 1024;

// The handshake answer is a head only; a server sending more than this before its blank line
// is not a websocket server. The body of a refusal is not read beyond what arrives with it.
constexpr std::size_t kMaxHandshakeHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxRefusalBodyBytes = 64 * 1024;

prometheus::Gauge& websocket_gauge(prometheus::Registry& registry, const char* name,
                                   const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) {
    return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

// Go prints the header map as map[Name:[v1 v2] ...]; credentials are not shown.
std::string describe_headers(const net::HttpHeaders& headers, const config::WebsocketProbe& probe) {
    std::string out = "map[";
    bool first = true;
    for (const auto& field : headers.fields()) {
        bool secret = net::iequals(field.name, "Authorization");
        for (const auto& [name, values] : probe.headers) {
            if (net::iequals(name, field.name) &&
                (!values.secrets.empty() || !values.files.empty())) {
                secret = true;
            }
        }
        out += (first ? "" : " ") + field.name + ":[" + (secret ? "<secret>" : field.value) + "]";
        first = false;
    }
    return out + "]";
}

class WebsocketProbeSession final : public StreamSession {
public:
    WebsocketProbeSession(ProbeContext& ctx, ProbeDone done)
        : StreamSession(ctx, std::move(done)),
          config_(ctx.module.websocket),
          status_code_(websocket_gauge(ctx.registry, "probe_websocket_status_code",
                                       "Response HTTP status code")),
          upgraded_(websocket_gauge(ctx.registry, "probe_websocket_connection_upgraded",
                                    "Indicates if the websocket connection was successfully "
                                    "upgraded")),
          failed_due_to_regex_(websocket_gauge(ctx.registry, "probe_websocket_failed_due_to_regex",
                                               "Indicates if probe failed due to regex")),
          durations_(prometheus::BuildGauge()
                         .Name("probe_websocket_duration_seconds")
                         .Help("Duration of websocket request by phase")
                         .Register(ctx.registry)),
          decoder_(Sender::Server, kMaxMessageBytes),
          assembler_(kMaxMessageBytes) {}

    void start() {
        auto target = parse_websocket_target(ctx_.target);
        if (!target) {
            // Go's url.Parse errors come first; a URL it takes but gorilla refuses fails the dial.
            const bool malformed = target.error() == "malformed ws or wss URL";
            fail_later(malformed ? FailureKind::Protocol : FailureKind::Resolve,
                       malformed ? "Error dialing websocket" : "Could not parse target URL",
                       target.error());
            return;
        }
        target_ = std::move(*target);
        ctx_.log.debug("probing websocket", {{"target", ctx_.target}});
        auto headers = configured_headers(config_);
        if (!headers) {
            fail_later(FailureKind::Internal, "Error creating websocket request", headers.error());
            return;
        }
        ctx_.log.debug("Constructed headers", {{"headers", describe_headers(*headers, config_)}});
        key_ = make_websocket_key();
        auto request = upgrade_request(target_, key_, *headers);
        if (!request) {
            fail_later(FailureKind::Protocol, "Error dialing websocket", request.error());
            return;
        }
        request_ = std::move(*request);
        ctx_.log.info("Resolving target address", {{"target", target_.host}});
        resolve_start_ns_ = uv_hrtime();
        resolving_ = resolve_target(
            ctx_.resolver, target_.host, config_.preferred_ip_protocol,
            config_.ip_protocol_fallback, ctx_.remaining_ms(), ctx_.registry,
            [this](Result<net::IpAddress> address) { on_resolved(std::move(address)); });
    }

private:
    enum class Stage { Dialing, Handshake, Open };

    void set_phase(const char* phase, double seconds) {
        durations_.Add({{"phase", phase}}).Set(seconds);
    }

    void on_resolved(Result<net::IpAddress> address) {
        if (!address) {
            ctx_.log.error("Error resolving address", {{"err", address.error()}});
            finish(ProbeOutcome::fail(FailureKind::Resolve, address.error()));
            return;
        }
        set_phase("resolve", seconds_between(resolve_start_ns_, uv_hrtime()));
        address_ = *address;
        ctx_.log.info("Resolved target address",
                      {{"target", target_.host}, {"ip", address_.to_string()}});
        stream_ = std::make_unique<net::TcpStream>(ctx_.loop);
        connect_start_ns_ = uv_hrtime();
        auto started =
            stream_->connect(address_, target_.port, nullptr,
                             [this](int status, std::uint64_t at) { on_connected(status, at); });
        if (!started) {
            fail_later(FailureKind::Connect, "Error dialing websocket", started.error());
        }
    }

    void on_connected(int status, std::uint64_t at_ns) {
        if (status != 0) {
            const std::string ip = address_.to_string();
            const std::string reason = "dial tcp " + (address_.is_v6() ? "[" + ip + "]" : ip) +
                                       ":" + std::to_string(target_.port) + ": " +
                                       uv_error_text(status);
            dial_failed(FailureKind::Connect, reason);
            return;
        }
        if (target_.secure) {
            start_tls();
            return;
        }
        stream_->start_reading(
            [this](std::string_view data) { on_bytes(data); },
            [this](int end_status) {
                on_end(end_status == UV_EOF ? std::string() : uv_error_text(end_status));
            });
        send_upgrade(at_ns);
    }

    // wss: the server name is tls_config.server_name, else the URL's host (the exporter sets
    // it so, having dialled the resolved IP).
    void start_tls() {
        if (!ctx_.tls) {
            finish(ProbeOutcome::fail(FailureKind::Internal, "no TLS context for this module"));
            return;
        }
        auto session = net::TlsSession::client(ctx_.tls, target_.host);
        if (!session) {
            dial_failed(FailureKind::Tls, session.error());
            return;
        }
        channel_ = std::make_unique<net::TlsChannel>(*stream_, std::move(*session));
        channel_->start(
            [this](bool ok, std::uint64_t at_ns) {
                if (!ok) {
                    dial_failed(FailureKind::Tls, channel_->error());
                    return;
                }
                send_upgrade(at_ns);
            },
            [this](std::string_view plaintext) { on_bytes(plaintext); },
            [this](const std::string& error) { on_end(error); });
    }

    void send_upgrade(std::uint64_t connected_ns) {
        set_phase("connect", seconds_between(connect_start_ns_, connected_ns));
        request_sent_ns_ = connected_ns;
        stage_ = Stage::Handshake;
        write_bytes(std::move(request_));
    }

    void on_bytes(std::string_view data) {
        if (finished_ || succeeded_) {
            return;
        }
        if (stage_ == Stage::Handshake) {
            const std::size_t used = parser_.feed(data);
            // A head is enough: the status decides, whatever a refusal's body holds.
            if (!parser_.headers_done()) {
                if (parser_.state() == net::HttpResponseParser::State::Failed) {
                    dial_failed(FailureKind::Protocol, parser_.error());
                }
                return;
            }
            on_handshake_answer();
            if (finished_ || succeeded_) {
                return;
            }
            // Frames the server sent right behind its answer.
            data = data.substr(used);
        }
        decoder_.feed(data);
        read_frames();
        drive();
    }

    void on_handshake_answer() {
        const auto& head = parser_.head();
        set_phase("processing", seconds_between(request_sent_ns_, uv_hrtime()));
        status_code_.Set(head.status);
        auto accepted = check_upgrade_response(head, key_);
        if (!accepted) {
            dial_failed(FailureKind::Protocol, accepted.error());
            return;
        }
        upgraded_.Set(1);
        stage_ = Stage::Open;
        transfer_start_ns_ = uv_hrtime();
        if (config_.query_response.empty()) {
            succeeded_ = true;
            close_politely();
            return;
        }
    }

    void on_end(const std::string& error) {
        if (finished_ || succeeded_) {
            return;
        }
        if (stage_ == Stage::Handshake) {
            parser_.finish();
            dial_failed(FailureKind::Protocol, error.empty() ? parser_.error() : "read: " + error);
            return;
        }
        if (read_error_.empty()) {
            read_error_ =
                error.empty() ? "websocket: close 1006 (abnormal closure): unexpected EOF" : error;
        }
        drive();
    }

    // Turns received bytes into messages (queued for the dialog) and answers control frames.
    void read_frames() {
        while (read_error_.empty()) {
            auto frame = decoder_.next();
            if (!frame) {
                read_error_ = frame.error();
                return;
            }
            if (!*frame) {
                return;
            }
            auto event = assembler_.add(std::move(**frame));
            if (!event) {
                read_error_ = event.error();
                return;
            }
            if (!*event) {
                continue;
            }
            switch ((*event)->kind) {
                case Event::Kind::Message:
                    queued_bytes_ += (*event)->data.size();
                    if (queued_bytes_ > kMaxMessageBytes) {
                        read_error_ = "websocket: read limit exceeded (unread messages over " +
                                      std::to_string(kMaxMessageBytes) + " bytes)";
                        return;
                    }
                    messages_.push_back(std::move((*event)->data));
                    break;
                case Event::Kind::Ping:
                    // A server that pings and never reads would grow the pong queue until the
                    // deadline: past 1 MiB unsent, the probe fails instead.
                    if (stream_->write_queue_bytes() > kMaxUnsentPongBytes) {
                        read_error_ = "websocket: the server pings but does not read (over " +
                                      std::to_string(kMaxUnsentPongBytes) + " bytes unsent)";
                        return;
                    }
                    write_frame(Opcode::Pong, (*event)->data);
                    break;
                case Event::Kind::Pong:
                    break;
                case Event::Kind::Close:
                    // Answer with the same code, as gorilla's default close handler does.
                    write_frame(Opcode::Close, (*event)->data.substr(0, 2));
                    read_error_ = describe_close((*event)->data);
                    return;
            }
        }
    }

    // Runs the query_response steps as far as the received messages allow.
    void drive() {
        if (finished_ || succeeded_ || stage_ != Stage::Open) {
            return;
        }
        const auto& steps = config_.query_response;
        while (step_ < steps.size()) {
            const auto& step = steps[step_];
            std::string send = step.send.value_or("");
            if (step.expect) {
                if (messages_.empty()) {
                    if (!read_error_.empty()) {
                        ctx_.log.error("Error reading message", {{"err", read_error_}});
                        dialog_failed(FailureKind::Protocol, read_error_);
                    }
                    return;
                }
                const std::string message = std::move(messages_.front());
                messages_.pop_front();
                queued_bytes_ -= message.size();
                const auto groups = find_submatches(*step.expect->re, message);
                if (!groups) {
                    ctx_.log.error("Regexp did not match",
                                   {{"regexp", step.expect->pattern}, {"line", message}});
                    dialog_failed(FailureKind::Validation,
                                  "regexp " + step.expect->pattern + " did not match the message");
                    return;
                }
                ctx_.log.debug("regexp matched",
                               {{"regexp", step.expect->pattern}, {"line", message}});
                send = regex_expand(*step.expect->re, send, *groups);
            }
            if (!send.empty()) {
                write_frame(Opcode::Text, send);
                if (finished_) {
                    return;
                }
                ctx_.log.debug("message sent", {{"message", send}});
            }
            ++step_;
        }
        set_phase("transfer", seconds_between(transfer_start_ns_, uv_hrtime()));
        succeeded_ = true;
        close_politely();
    }

    // The exporter just drops the connection; sonde says goodbye with a close frame (1000), and
    // waits until it and the last message are handed to the kernel.
    void close_politely() {
        write_frame(Opcode::Close, close_payload(1000));
        if (finished_) {
            return;
        }
        stream_->when_flushed([this](int status) {
            if (status != 0) {
                finish(ProbeOutcome::fail(FailureKind::Protocol,
                                          "Error sending message: " + uv_error_text(status)));
                return;
            }
            finish(ProbeOutcome::ok());
        });
    }

    void write_frame(Opcode opcode, std::string_view payload) {
        std::array<std::uint8_t, 4> mask{};
        (void)RAND_bytes(mask.data(), static_cast<int>(mask.size()));
        write_bytes(encode_frame(opcode, payload, mask));
    }

    void write_bytes(std::string bytes) {
        if (channel_) {
            channel_->write(bytes);
            return;
        }
        stream_->write(std::move(bytes), [this](int status) {
            if (status != 0 && !finished_) {
                const std::string reason = "write: " + uv_error_text(status);
                if (stage_ == Stage::Open) {
                    ctx_.log.error("Error sending message", {{"err", reason}});
                    dialog_failed(FailureKind::Protocol, reason);
                } else {
                    dial_failed(FailureKind::Connect, reason);
                }
            }
        });
    }

    void dial_failed(FailureKind kind, const std::string& reason) {
        ctx_.log.error("Error dialing websocket", {{"err", reason}});
        finish(ProbeOutcome::fail(kind, reason));
    }

    // The exporter counts every failed step (a mismatch, a read error, a close) as a regex
    // failure.
    void dialog_failed(FailureKind kind, std::string reason) {
        failed_due_to_regex_.Set(1);
        set_phase("transfer", seconds_between(transfer_start_ns_, uv_hrtime()));
        finish(ProbeOutcome::fail(kind, std::move(reason)));
    }

    const config::WebsocketProbe& config_;
    prometheus::Gauge& status_code_;
    prometheus::Gauge& upgraded_;
    prometheus::Gauge& failed_due_to_regex_;
    prometheus::Family<prometheus::Gauge>& durations_;

    WebsocketTarget target_;
    std::string key_;
    std::string request_;
    net::IpAddress address_;
    std::uint64_t resolve_start_ns_ = 0;
    std::uint64_t connect_start_ns_ = 0;
    std::uint64_t request_sent_ns_ = 0;
    std::uint64_t transfer_start_ns_ = 0;

    Stage stage_ = Stage::Dialing;
    net::HttpResponseParser parser_{
        net::HttpResponseLimits{kMaxHandshakeHeaderBytes, kMaxRefusalBodyBytes}};
    FrameDecoder decoder_;
    MessageAssembler assembler_;
    std::deque<std::string> messages_;  // received, not yet taken by an expect
    std::size_t queued_bytes_ = 0;
    std::string read_error_;  // why no more messages will come (EOF, close, protocol error)
    std::size_t step_ = 0;

    std::unique_ptr<net::ResolveRequest> resolving_;
    bool succeeded_ = false;  // waiting for the last frames to flush
};

}  // namespace

std::unique_ptr<ProbeSession> start_websocket_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<WebsocketProbeSession>(ctx, std::move(done));
    session->start();
    return session;
}

}  // namespace sonde::modules::websocket

#include "modules/dns/dns_probe.hpp"

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <uv.h>

#include "modules/common/target_address.hpp"
#include "modules/dns/dns_message.hpp"
#include "modules/dns/dns_validate.hpp"
#include "prober/core/uv_error.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/fd_budget.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/tcp_stream.hpp"
#include "prober/net/tls_channel.hpp"

namespace sonde::modules::dns {
namespace {

constexpr std::size_t kUdpBufferSize = 65536;

prometheus::Gauge& add_gauge(prometheus::Registry& registry, const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) {
    return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

// A UDP datagram in flight: owns its bytes until libuv is done with them.
struct UdpSend {
    uv_udp_send_t req{};
    std::string bytes;
};

class DnsProbeSession final : public ProbeSession {
public:
    DnsProbeSession(ProbeContext& ctx, ProbeDone done)
        : ctx_(ctx),
          config_(ctx.module.dns),
          done_(std::move(done)),
          // Registered first and in the exporter's order, so they exist whatever happens.
          durations_(prometheus::BuildGauge()
                         .Name("probe_dns_duration_seconds")
                         .Help("Duration of DNS request by phase")
                         .Register(ctx.registry)),
          resolve_phase_(durations_.Add({{"phase", "resolve"}})),
          connect_phase_(durations_.Add({{"phase", "connect"}})),
          request_phase_(durations_.Add({{"phase", "request"}})),
          answer_rrs_(add_gauge(ctx.registry, "probe_dns_answer_rrs",
                                "Returns number of entries in the answer resource record list")),
          authority_rrs_(
              add_gauge(ctx.registry, "probe_dns_authority_rrs",
                        "Returns number of entries in the authority resource record list")),
          additional_rrs_(
              add_gauge(ctx.registry, "probe_dns_additional_rrs",
                        "Returns number of entries in the additional resource record list")),
          query_succeeded_(
              add_gauge(ctx.registry, "probe_dns_query_succeeded",
                        "Displays whether or not the query was executed successfully")) {}

    ~DnsProbeSession() override {
        // Cancelled while waiting for the reply (the deadline): report the time waited, as the
        // exporter's client reports its rtt when the read times out.
        if (!finished_ && request_start_ns_ != 0) {
            request_phase_.Set(seconds_between(request_start_ns_, uv_hrtime()));
        }
    }

    DnsProbeSession(const DnsProbeSession&) = delete;
    DnsProbeSession& operator=(const DnsProbeSession&) = delete;

    void start() {
        // query_class and query_type were checked at config load (they are config errors in
        // the exporter too), so the lookups cannot fail here.
        qclass_ = class_from_name(config_.query_class).value_or(kClassIn);
        qtype_ = type_from_name(config_.query_type).value_or(std::uint16_t{255});
        if (config_.transport_protocol != "udp" && config_.transport_protocol != "tcp") {
            fail_later(FailureKind::Internal,
                       "Configuration error: Expected transport protocol udp or tcp",
                       {"protocol", config_.transport_protocol});
            return;
        }
        tcp_ = config_.transport_protocol == "tcp";
        if (auto host_port = net::split_host_port(ctx_.target)) {
            host_ = host_port->host;
            port_text_ = host_port->port;
        } else {
            // Only a host (or a bare IPv6 literal): the default port.
            host_ = ctx_.target;
            port_text_ = config_.dns_over_tls ? "853" : "53";
        }
        ctx_.log.info("Resolving target address",
                      {{"target", host_}, {"ip_protocol", config_.preferred_ip_protocol}});
        resolve_start_ns_ = uv_hrtime();
        resolving_ = resolve_target(
            ctx_.resolver, host_, config_.preferred_ip_protocol, config_.ip_protocol_fallback,
            ctx_.remaining_ms(), ctx_.registry,
            [this](Result<net::IpAddress> address) { on_resolved(std::move(address)); });
    }

private:
    void on_resolved(Result<net::IpAddress> address) {
        if (!address) {
            // As the exporter, which returns before adding the lookup time to the phase.
            finish(FailureKind::Resolve, "Error resolving address", {"err", address.error()});
            return;
        }
        resolve_phase_.Set(seconds_between(resolve_start_ns_, uv_hrtime()));
        address_ = *address;
        ctx_.log.info("Resolved target address", {{"target", host_}, {"ip", address_.to_string()}});
        const std::string ip = address_.to_string();
        server_ = (address_.is_v6() ? "[" + ip + "]" : ip) + ":" + port_text_;
        dial_protocol_ = config_.transport_protocol + (address_.is_v6() ? "6" : "4");
        if (config_.dns_over_tls) {
            if (!tcp_) {
                finish(FailureKind::Internal,
                       "Configuration error: Expected transport protocol tcp for DoT",
                       {"protocol", config_.transport_protocol});
                return;
            }
            dial_protocol_ += "-tls";
            if (!ctx_.tls) {
                finish(FailureKind::Internal, "Failed to create TLS configuration",
                       {"err", "no TLS context for this module"});
                return;
            }
        }
        if (!config_.source_ip_address.empty()) {
            source_ = net::IpAddress::parse(config_.source_ip_address);
            if (!source_) {
                finish(FailureKind::Internal, "Error parsing source ip address",
                       {"srcIP", config_.source_ip_address});
                return;
            }
            ctx_.log.info("Using local address", {{"srcIP", source_->to_string()}});
        }

        QuerySpec spec;
        uv_random(nullptr, nullptr, &spec.id, sizeof spec.id, 0, nullptr);
        spec.name = config_.query_name;
        spec.type = qtype_;
        spec.qclass = qclass_;
        spec.recursion_desired = config_.recursion_desired;
        id_ = spec.id;
        ctx_.log.info("Making DNS query", {{"target", server_},
                                           {"dial_protocol", dial_protocol_},
                                           {"query", config_.query_name},
                                           {"type", std::to_string(qtype_)},
                                           {"class", std::to_string(qclass_)}});
        exchange_start_ns_ = uv_hrtime();
        auto query = encode_query(spec);
        if (!query) {
            exchange_failed(query.error());
            return;
        }
        query_ = std::move(*query);
        const auto port = parse_target_port(port_text_);
        if (!port) {
            exchange_failed("dial " + dial_protocol_ + " " + server_ + ": unknown port");
            return;
        }
        port_ = *port;
        if (tcp_) {
            start_tcp();
        } else {
            start_udp();
        }
    }

    // ---- UDP ----------------------------------------------------------------------------

    void start_udp() {
        // The socket is created at once so that the descriptor budget can refuse it.
        const unsigned family = address_.is_v4() ? AF_INET : AF_INET6;
        if (int rc = udp_.init(
                this, [&](uv_udp_t* h) { return uv_udp_init_ex(ctx_.loop.raw(), h, family); });
            rc != 0 || (rc = net::FdBudget::admit(udp_.as_handle())) != 0) {
            udp_.reset();
            exchange_failed("dial " + dial_protocol_ + " " + server_ + ": " + uv_error_text(rc));
            return;
        }
        if (source_) {
            const auto local = source_->to_sockaddr(0);
            if (const int rc =
                    uv_udp_bind(udp_.get(), reinterpret_cast<const sockaddr*>(&local), 0);
                rc != 0) {
                exchange_failed("dial " + dial_protocol_ + " " + server_ +
                                ": bind: " + uv_error_text(rc));
                return;
            }
        }
        // A connected socket, as Go's: the kernel drops datagrams from other addresses and
        // reports ICMP port unreachable as ECONNREFUSED on the next receive.
        const auto remote = address_.to_sockaddr(port_);
        if (const int rc = uv_udp_connect(udp_.get(), reinterpret_cast<const sockaddr*>(&remote));
            rc != 0) {
            exchange_failed("dial " + dial_protocol_ + " " + server_ + ": " + uv_error_text(rc));
            return;
        }
        if (const int rc = uv_udp_recv_start(udp_.get(), &on_udp_alloc, &on_udp_recv); rc != 0) {
            exchange_failed("read " + dial_protocol_ + " " + server_ + ": " + uv_error_text(rc));
            return;
        }
        auto* send = new UdpSend;
        send->bytes = query_;
        uv_buf_t buf = uv_buf_init(send->bytes.data(), static_cast<unsigned>(send->bytes.size()));
        mark_request_start();
        if (const int rc = uv_udp_send(&send->req, udp_.get(), &buf, 1, nullptr, &on_udp_sent);
            rc != 0) {
            delete send;
            exchange_failed("write " + dial_protocol_ + " " + server_ + ": " + uv_error_text(rc));
        }
    }

    static void on_udp_sent(uv_udp_send_t* req, int status) noexcept {
        std::unique_ptr<UdpSend> send(reinterpret_cast<UdpSend*>(req));
        auto* self = owner_of<DnsProbeSession>(req->handle);
        if (self == nullptr || status == 0 || status == UV_ECANCELED) {
            return;
        }
        self->exchange_failed("write " + self->dial_protocol_ + " " + self->server_ + ": " +
                              uv_error_text(status));
    }

    static void on_udp_alloc(uv_handle_t* handle, std::size_t /*suggested*/,
                             uv_buf_t* buf) noexcept {
        auto* self = owner_of<DnsProbeSession>(handle);
        if (self == nullptr) {
            *buf = uv_buf_init(nullptr, 0);
            return;
        }
        if (!self->udp_buffer_) {
            self->udp_buffer_ = std::make_unique_for_overwrite<char[]>(kUdpBufferSize);
        }
        *buf = uv_buf_init(self->udp_buffer_.get(), kUdpBufferSize);
    }

    static void on_udp_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                            const sockaddr* addr, unsigned /*flags*/) noexcept {
        const std::uint64_t at = uv_hrtime();
        auto* self = owner_of<DnsProbeSession>(handle);
        if (self == nullptr || self->finished_) {
            return;
        }
        if (nread < 0) {
            self->exchange_failed("read " + self->dial_protocol_ + " " + self->server_ + ": " +
                                  uv_error_text(static_cast<int>(nread)));
            return;
        }
        if (nread == 0 && addr == nullptr) {
            return;  // nothing more to read this time
        }
        if (addr != nullptr && !self->from_server(addr)) {
            self->ctx_.log.debug("Ignoring a datagram from another address");
            return;
        }
        self->on_message(std::string_view(buf->base, static_cast<std::size_t>(nread)), at);
    }

    bool from_server(const sockaddr* addr) const {
        const auto expected = address_.to_sockaddr(port_);
        if (addr->sa_family != expected.ss_family) {
            return false;
        }
        if (addr->sa_family == AF_INET) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(addr);
            const auto* b = reinterpret_cast<const sockaddr_in*>(&expected);
            return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
        }
        const auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
        const auto* b = reinterpret_cast<const sockaddr_in6*>(&expected);
        return a->sin6_port == b->sin6_port &&
               std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }

    // ---- TCP and DNS over TLS -------------------------------------------------------------

    void start_tcp() {
        stream_ = std::make_unique<net::TcpStream>(ctx_.loop);
        auto started =
            stream_->connect(address_, port_, source_ ? &*source_ : nullptr,
                             [this](int status, std::uint64_t at) { on_connected(status, at); });
        if (!started) {
            exchange_failed("dial " + dial_protocol_ + " " + server_ + ": " + started.error());
        }
    }

    void on_connected(int status, std::uint64_t /*at_ns*/) {
        if (status != 0) {
            exchange_failed("dial " + dial_protocol_ + " " + server_ + ": " +
                            uv_error_text(status));
            return;
        }
        std::string framed;
        framed.push_back(static_cast<char>(query_.size() >> 8));
        framed.push_back(static_cast<char>(query_.size() & 0xFF));
        framed += query_;
        if (!config_.dns_over_tls) {
            stream_->start_reading(
                [this](std::string_view data) { on_tcp_bytes(data); },
                [this](int end_status) {
                    on_tcp_end(end_status == UV_EOF ? "EOF" : uv_error_text(end_status));
                });
            mark_request_start();
            stream_->write(std::move(framed), [this](int write_status) {
                if (write_status != 0) {
                    exchange_failed("write " + dial_protocol_ + " " + server_ + ": " +
                                    uv_error_text(write_status));
                }
            });
            return;
        }
        // The server name: tls_config.server_name (applied by TlsSession), else the target host.
        auto session = net::TlsSession::client(ctx_.tls, host_);
        if (!session) {
            exchange_failed(session.error());
            return;
        }
        channel_ = std::make_unique<net::TlsChannel>(*stream_, std::move(*session));
        channel_->start(
            [this, framed = std::move(framed)](bool ok, std::uint64_t /*at_ns*/) {
                if (!ok) {
                    exchange_failed(channel_->error(), FailureKind::Tls);
                    return;
                }
                mark_request_start();
                channel_->write(framed);
            },
            [this](std::string_view plaintext) { on_tcp_bytes(plaintext); },
            [this](const std::string& error) { on_tcp_end(error.empty() ? "EOF" : error); });
    }

    void on_tcp_bytes(std::string_view data) {
        const std::uint64_t at = uv_hrtime();
        tcp_buffer_.append(data);
        // Frames are length-prefixed; replies with another id are skipped, like miekg/dns.
        while (!finished_ && tcp_buffer_.size() >= 2) {
            const std::size_t length = (static_cast<unsigned char>(tcp_buffer_[0]) << 8U) |
                                       static_cast<unsigned char>(tcp_buffer_[1]);
            if (tcp_buffer_.size() < 2 + length) {
                return;
            }
            const std::string frame = tcp_buffer_.substr(2, length);
            tcp_buffer_.erase(0, 2 + length);
            if (on_message(frame, at)) {
                return;  // done has run: touch nothing more
            }
        }
    }

    void on_tcp_end(const std::string& error) {
        if (finished_) {
            return;
        }
        exchange_failed("read " + dial_protocol_ + " " + server_ + ": " + error);
    }

    // ---- The reply ------------------------------------------------------------------------

    void mark_request_start() {
        request_start_ns_ = uv_hrtime();
        connect_phase_.Set(seconds_between(exchange_start_ns_, request_start_ns_));
    }

    // One whole message from the server. A malformed message ends the exchange (miekg/dns's
    // ReadMsg fails before it can compare ids); a well-formed reply to another id is skipped.
    // Returns true when the probe has completed (done has run).
    bool on_message(std::string_view wire, std::uint64_t at_ns) {
        auto message = decode_message(wire);
        if (!message) {
            exchange_failed(message.error());
            return true;
        }
        if (message->id != id_) {
            ctx_.log.debug("Ignoring a reply with another id",
                           {{"id", std::to_string(message->id)}});
            return false;
        }
        request_phase_.Set(seconds_between(request_start_ns_, at_ns));
        request_start_ns_ = 0;
        close_transport();
        evaluate(*message);
        return true;
    }

    void evaluate(const Message& response) {
        ctx_.log.info("Got response", {{"response", summary(response)}});
        answer_rrs_.Set(static_cast<double>(response.answer.size()));
        authority_rrs_.Set(static_cast<double>(response.authority.size()));
        additional_rrs_.Set(static_cast<double>(response.additional.size()));
        query_succeeded_.Set(1);
        if (qtype_ == kTypeSoa) {
            auto& serial = add_gauge(ctx_.registry, "probe_dns_serial",
                                     "Returns the serial number of the zone");
            for (const auto& rr : response.answer) {
                if (rr.soa_serial) {
                    serial.Set(static_cast<double>(*rr.soa_serial));
                }
            }
        }
        const auto rcode = check_rcode(response.rcode, config_.valid_rcodes);
        if (!rcode.success) {
            if (rcode.message == "Invalid rcode") {
                finish(FailureKind::Validation, "Invalid rcode", {"rcode", rcode.problem});
            } else {
                finish(FailureKind::Validation, "Rcode is not one of the valid rcodes",
                       {"rcode", std::to_string(response.rcode)},
                       LogField{"string_rcode", rcode_name(response.rcode)});
            }
            return;
        }
        ctx_.log.info("Rcode is valid", {{"rcode", std::to_string(response.rcode)},
                                         {"string_rcode", rcode_name(response.rcode)}});
        const struct {
            const char* name;
            const std::vector<ResourceRecord>& rrs;
            const config::DnsRrValidator& validator;
        } sections[] = {{"Answer RRs", response.answer, config_.validate_answer_rrs},
                        {"Authority RRs", response.authority, config_.validate_authority_rrs},
                        {"Additional RRs", response.additional, config_.validate_additional_rrs}};
        for (const auto& section : sections) {
            ctx_.log.info(std::string("Validating ") + section.name);
            std::vector<std::string> texts;
            for (const auto& rr : section.rrs) {
                ctx_.log.info("Validating RR", {{"rr", rr.text}});
                texts.push_back(rr.text);
            }
            const auto result = check_rrs(section.name, texts, section.validator);
            if (!result.success) {
                ctx_.log.error(result.message, {{"problem", result.problem},
                                                {"regexp", result.regexp},
                                                {"rr", result.rr},
                                                {"err", result.err}});
                finish_quiet(FailureKind::Validation, result.message + ": " + result.problem);
                return;
            }
        }
        finish_quiet(FailureKind::None, {});
    }

    static std::string summary(const Message& m) {
        return "id " + std::to_string(m.id) + ", status: " + rcode_name(m.rcode) +
               ", QUERY: " + std::to_string(m.questions.size()) +
               ", ANSWER: " + std::to_string(m.answer.size()) +
               ", AUTHORITY: " + std::to_string(m.authority.size()) +
               ", ADDITIONAL: " + std::to_string(m.additional.size());
    }

    // ---- Completion -----------------------------------------------------------------------

    // The exchange failed: the exporter's single "Error while sending a DNS query" line.
    void exchange_failed(const std::string& err, FailureKind kind = FailureKind::Protocol) {
        if (finished_) {
            return;
        }
        if (request_start_ns_ == 0) {
            // Nothing was sent: all the time went into setting up the connection.
            connect_phase_.Set(seconds_between(exchange_start_ns_, uv_hrtime()));
            if (kind == FailureKind::Protocol && !query_.empty()) {
                kind = FailureKind::Connect;
            }
        } else {
            request_phase_.Set(seconds_between(request_start_ns_, uv_hrtime()));
        }
        request_start_ns_ = 0;
        // Never complete from inside the caller's stack (start, or a stream callback that the
        // runner might destroy us in): the runner defers deletion, but done must stay last.
        finish(kind, "Error while sending a DNS query", {"err", err});
    }

    void fail_later(FailureKind kind, const char* message, LogField field) {
        ctx_.log.error(message, {field});
        ctx_.loop.post(alive_, [this, kind, detail = std::string(message)]() mutable {
            finish_quiet(kind, std::move(detail));
        });
    }

    void finish(FailureKind kind, const char* message, LogField field,
                std::optional<LogField> second = std::nullopt) {
        if (second) {
            ctx_.log.error(message, {field, *second});
        } else {
            ctx_.log.error(message, {field});
        }
        std::string detail = message;
        if (!field.second.empty()) {
            detail += ": " + std::string(field.second);
        }
        finish_quiet(kind, std::move(detail));
    }

    void close_transport() {
        if (channel_) {
            channel_->stop();
        }
        if (stream_) {
            stream_->close();
        }
        udp_.reset();
    }

    void finish_quiet(FailureKind kind, std::string detail) {
        if (finished_) {
            return;
        }
        finished_ = true;
        close_transport();
        auto done = std::move(done_);
        // Last statement: the runner may now delete this session.
        done(kind == FailureKind::None ? ProbeOutcome::ok()
                                       : ProbeOutcome::fail(kind, std::move(detail)));
    }

    ProbeContext& ctx_;
    const config::DnsProbe& config_;
    ProbeDone done_;
    prometheus::Family<prometheus::Gauge>& durations_;
    prometheus::Gauge& resolve_phase_;
    prometheus::Gauge& connect_phase_;
    prometheus::Gauge& request_phase_;
    prometheus::Gauge& answer_rrs_;
    prometheus::Gauge& authority_rrs_;
    prometheus::Gauge& additional_rrs_;
    prometheus::Gauge& query_succeeded_;

    std::uint16_t qtype_ = 0;
    std::uint16_t qclass_ = 0;
    bool tcp_ = false;
    std::string host_;
    std::string port_text_;
    std::uint16_t port_ = 0;
    net::IpAddress address_;
    std::optional<net::IpAddress> source_;
    std::string server_;
    std::string dial_protocol_;
    std::uint16_t id_ = 0;
    std::string query_;
    std::uint64_t resolve_start_ns_ = 0;
    std::uint64_t exchange_start_ns_ = 0;
    std::uint64_t request_start_ns_ = 0;

    std::unique_ptr<net::ResolveRequest> resolving_;
    UvHandle<uv_udp_t> udp_;
    std::unique_ptr<char[]> udp_buffer_;
    std::unique_ptr<net::TcpStream> stream_;
    std::unique_ptr<net::TlsChannel> channel_;  // declared after stream_: destroyed first
    std::string tcp_buffer_;
    bool finished_ = false;
    Alive alive_;
};

}  // namespace

std::unique_ptr<ProbeSession> start_dns_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<DnsProbeSession>(ctx, std::move(done));
    session->start();
    return session;
}

}  // namespace sonde::modules::dns

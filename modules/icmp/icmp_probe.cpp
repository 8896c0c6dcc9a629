#include "modules/icmp/icmp_probe.hpp"

#include <optional>
#include <string>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "modules/common/target_address.hpp"
#include "modules/icmp/icmp_packet.hpp"
#include "modules/icmp/icmp_socket_pool.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/resolver.hpp"

namespace sonde::modules::icmp {
namespace {

double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) {
    return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

class IcmpProbeSession final : public ProbeSession {
public:
    IcmpProbeSession(ProbeContext& ctx, ProbeDone done)
        : ctx_(ctx),
          config_(ctx.module.icmp),
          done_(std::move(done)),
          durations_(prometheus::BuildGauge()
                         .Name("probe_icmp_duration_seconds")
                         .Help("Duration of icmp request by phase")
                         .Register(ctx.registry)) {
        // All three phases are exported even when the probe stops early, as by the exporter.
        resolve_ = &durations_.Add({{"phase", "resolve"}});
        setup_ = &durations_.Add({{"phase", "setup"}});
        rtt_ = &durations_.Add({{"phase", "rtt"}});
    }

    void start() {
        ctx_.log.info("Resolving target address", {{"target", ctx_.target}});
        resolve_started_ns_ = uv_hrtime();
        resolving_ = resolve_target(
            ctx_.resolver, ctx_.target, config_.preferred_ip_protocol, config_.ip_protocol_fallback,
            ctx_.remaining_ms(), ctx_.registry,
            [this](Result<net::IpAddress> address) { on_resolved(std::move(address)); });
    }

private:
    void on_resolved(Result<net::IpAddress> address) {
        resolve_->Set(seconds_between(resolve_started_ns_, uv_hrtime()));
        if (!address) {
            ctx_.log.log(LogLevel::Warn, "Error resolving address", {{"err", address.error()}});
            finish(ProbeOutcome::fail(FailureKind::Resolve, address.error()));
            return;
        }
        ctx_.log.info("Resolved target address",
                      {{"target", ctx_.target}, {"ip", address->to_string()}});

        IcmpSocketOptions options;
        options.family = address->family();
        options.ttl = config_.ttl;
        options.dont_fragment = config_.dont_fragment;
        if (!config_.source_ip_address.empty()) {
            options.source = net::IpAddress::parse(config_.source_ip_address);
            if (!options.source) {
                ctx_.log.error("Error parsing source ip address",
                               {{"srcIP", config_.source_ip_address}});
                finish(ProbeOutcome::fail(FailureKind::Internal, "invalid source_ip_address " +
                                                                     config_.source_ip_address));
                return;
            }
            ctx_.log.info("Using source address", {{"srcIP", config_.source_ip_address}});
        }
        if (config_.payload_size < 0) {
            finish(ProbeOutcome::fail(
                FailureKind::Internal,
                "payload_size cannot be negative: " + std::to_string(config_.payload_size)));
            return;
        }

        const std::uint64_t setup_started_ns = uv_hrtime();
        ctx_.log.info("Creating socket");
        IcmpSocketPool* pool = ctx_.icmp_pool;
        if (pool == nullptr) {
            own_pool_ = std::make_unique<IcmpSocketPool>(ctx_.loop);
            pool = own_pool_.get();
        }
        auto echo = pool->prepare_echo(options, *address, pool->random_id(),
                                       echo_payload(config_.payload_size),
                                       [this](const IcmpEchoReply& reply) { on_reply(reply); });
        if (!echo) {
            ctx_.log.error("Error listening to socket", {{"err", echo.error()}});
            finish(ProbeOutcome::fail(FailureKind::Connect, echo.error()));
            return;
        }
        echo_ = std::move(*echo);
        ctx_.log.debug("Using socket", {{"kind", socket_kind_name(echo_->kind())}});
        ctx_.log.info("Creating ICMP packet", {{"seq", std::to_string(echo_->sequence())},
                                               {"id", std::to_string(echo_->id())}});
        setup_->Set(seconds_between(setup_started_ns, uv_hrtime()));

        ctx_.log.info("Writing out packet");
        auto sent = echo_->send();
        if (!sent) {
            ctx_.log.log(LogLevel::Warn, "Error writing to socket", {{"err", sent.error()}});
            finish(ProbeOutcome::fail(FailureKind::Connect, sent.error()));
            return;
        }
        ctx_.log.info("Waiting for reply packets");
    }

    void on_reply(const IcmpEchoReply& reply) {
        rtt_->Set(seconds_between(echo_->sent_ns(), reply.received_ns));
        if (reply.hop_limit) {
            prometheus::BuildGauge()
                .Name("probe_icmp_reply_hop_limit")
                .Help("Replied packet hop limit (TTL for ipv4)")
                .Register(ctx_.registry)
                .Add({})
                .Set(*reply.hop_limit);
        } else {
            ctx_.log.debug(
                "Cannot get TTL from the received packet. 'probe_icmp_reply_hop_limit' will be "
                "missing.");
        }
        ctx_.log.info("Found matching reply packet");
        finish(ProbeOutcome::ok());
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
    const config::IcmpProbe& config_;
    ProbeDone done_;
    prometheus::Family<prometheus::Gauge>& durations_;
    prometheus::Gauge* resolve_ = nullptr;
    prometheus::Gauge* setup_ = nullptr;
    prometheus::Gauge* rtt_ = nullptr;
    std::uint64_t resolve_started_ns_ = 0;
    std::unique_ptr<net::ResolveRequest> resolving_;
    // The private pool, when the context has none; declared before echo_ so that the echo
    // unregisters from it before it goes.
    std::unique_ptr<IcmpSocketPool> own_pool_;
    std::unique_ptr<IcmpEcho> echo_;
    bool finished_ = false;
};

}  // namespace

std::unique_ptr<ProbeSession> start_icmp_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<IcmpProbeSession>(ctx, std::move(done));
    session->start();
    return session;
}

}  // namespace sonde::modules::icmp

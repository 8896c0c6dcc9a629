#include "modules/http/http_probe.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "modules/common/dial_guard.hpp"
#include "modules/common/target_address.hpp"
#include "modules/common/tls_metrics.hpp"
#include "modules/http/cookie_jar.hpp"
#include "modules/http/host_header.hpp"
#include "modules/http/http_metrics.hpp"
#include "modules/http/http_url.hpp"
#include "modules/http/oauth2_token.hpp"
#include "modules/http/proxy_select.hpp"
#include "modules/http/redirect_policy.hpp"
#include "modules/http/request_builder.hpp"
#include "modules/http/response_evaluation.hpp"
#include "prober/net/http_client.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/url.hpp"

#ifndef SONDE_VERSION_STRING
#define SONDE_VERSION_STRING "unknown"
#endif

namespace sonde::modules::http {
namespace {

// The raw body kept per response when no body_size_limit bounds it: a probe that reads a
// health page never needs more, and an endless body must not grow memory until the deadline.
constexpr std::size_t kSafetyBodyCap = std::size_t{64} * 1024 * 1024;

FailureKind failure_kind(net::HttpErrorKind kind) {
    switch (kind) {
        case net::HttpErrorKind::Connect:
        case net::HttpErrorKind::Proxy:
            return FailureKind::Connect;
        case net::HttpErrorKind::Tls:
            return FailureKind::Tls;
        case net::HttpErrorKind::Protocol:
        case net::HttpErrorKind::HeadersTooLarge:
        case net::HttpErrorKind::BodyTooLarge:
        case net::HttpErrorKind::PeerClosed:
            return FailureKind::Protocol;
        case net::HttpErrorKind::Internal:
            return FailureKind::Internal;
    }
    return FailureKind::Internal;
}

std::optional<std::uint16_t> parse_port(const std::string& text, std::uint16_t fallback) {
    if (text.empty()) {
        return fallback;
    }
    unsigned value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

double seconds_between(std::uint64_t from, std::uint64_t to) {
    return static_cast<double>(to - from) / 1e9;
}

// One request of the probe: what was sent and when things happened.
struct Hop {
    OutgoingRequest request;
    std::string server_name;  // TLS SNI for an https hop
    HopTimestamps times;
};

class HttpProbeSession final : public ProbeSession {
public:
    HttpProbeSession(ProbeContext& ctx, ProbeDone done)
        : ctx_(ctx), cfg_(ctx.module.http), done_(std::move(done)), metrics_(ctx.registry, cfg_) {}

    void start() {
        auto url = normalise_target(ctx_.target);
        if (!url) {
            fail_later(FailureKind::Resolve, "Could not parse target URL", url.error());
            return;
        }
        target_url_ = std::move(*url);
        auto headers = apply_hostname_param(cfg_.headers, ctx_.hostname);
        if (!headers) {
            // The endpoint refuses this before probing (check_http_hostname); a scheduled
            // probe has no hostname parameter, so this is only reached by direct callers.
            fail_later(FailureKind::Internal, "Error setting Host header", headers.error());
            return;
        }
        headers_ = std::move(*headers);
        names_ = choose_host_names(cfg_.tls_config, headers_, target_url_);
        // Configured options sonde cannot honour yet fail the probe saying so.
        if (cfg_.enable_http3) {
            // The exporter would speak QUIC only; probing over HTTP/1.1 instead could pass a
            // target whose HTTP/3 is broken.
            fail_later(FailureKind::Internal, "Error creating request",
                       "HTTP/3 (enable_http3) is not supported by sonde yet");
            return;
        }
        // proxy_url (with no_proxy) or the environment: chosen per request (proxy_select.hpp).
        auto proxies = ProxySelector::from_config(cfg_, process_environment());
        if (!proxies) {
            fail_later(FailureKind::Internal, "Error parsing proxy URL", proxies.error());
            return;
        }
        proxies_ = std::move(*proxies);
        // As the exporter: only a proxy_url skips the resolve phase, never the environment.
        if (cfg_.skip_resolve_phase_with_proxy && !cfg_.proxy_url.empty() &&
            !cfg_.proxy_from_environment) {
            // The proxy resolves the target: no resolve metrics, the URL keeps the name. Only
            // the name (or a literal address) can be checked against the probe policy.
            if (ctx_.dial_guard != nullptr) {
                if (auto denied = ctx_.dial_guard->check_unresolved(target_url_.host)) {
                    fail_later(FailureKind::Resolve, "Error for HTTP request", *denied);
                    return;
                }
            }
            start_first_hop(target_url_);
            return;
        }
        ctx_.log.info("Resolving target address",
                      {{"target", target_url_.host}, {"ip_protocol", cfg_.preferred_ip_protocol}});
        resolve_started_ = Loop::now_ns();
        resolving_ = resolve_target(
            ctx_.resolver, target_url_.host, cfg_.preferred_ip_protocol, cfg_.ip_protocol_fallback,
            ctx_.remaining_ms(), ctx_.registry,
            [this](Result<net::IpAddress> address) { on_target_resolved(std::move(address)); });
    }

private:
    void on_target_resolved(Result<net::IpAddress> address) {
        resolving_.reset();
        metrics_.add_resolve_seconds(seconds_between(resolve_started_, Loop::now_ns()));
        if (!address) {
            ctx_.log.error("Error resolving address", {{"err", address.error()}});
            finish(ProbeOutcome::fail(FailureKind::Resolve, address.error()));
            return;
        }
        const std::string ip = address->to_string();
        ctx_.log.info("Resolved target address", {{"target", target_url_.host}, {"ip", ip}});
        // As the exporter: the URL now names the chosen address, the Host header keeps the
        // original host[:port] and TLS keeps the name (choose_host_names).
        HttpUrl url = target_url_;
        url.host = ip;
        start_first_hop(url);
    }

    void start_first_hop(const HttpUrl& url) {
        auto body = load_request_body(cfg_);
        if (!body) {
            fail_now(FailureKind::Internal, "Error creating request", body.error());
            return;
        }
        initial_headers_ = initial_headers(headers_, default_user_agent(SONDE_VERSION_STRING));
        HopInputs inputs;
        inputs.method = cfg_.method;
        inputs.url = url;
        inputs.host_header = names_.host_header;
        inputs.headers = initial_headers_;
        inputs.body = std::move(*body);
        inputs.cookie_header = jar_.cookie_header(url, std::time(nullptr));
        auto request = finish_request(cfg_, std::move(inputs));
        if (!request) {
            fail_now(FailureKind::Internal, "HTTP request failed", request.error());
            return;
        }
        initial_ = *request;
        ctx_.log.info("Making HTTP request",
                      {{"url", request->url.to_string()}, {"host", request->host_header}});
        metrics_.request_attempted();
        if (cfg_.oauth2) {
            // The token first (oauth2_token.hpp): its time is in no phase, as in the exporter.
            token_fetch_ = std::make_unique<OAuth2TokenFetch>(
                ctx_.loop, ctx_.resolver, *cfg_.oauth2, default_user_agent(SONDE_VERSION_STRING));
            token_fetch_->start(ctx_.remaining_ms(), [this](Result<OAuth2Token> token) {
                if (!token) {
                    ctx_.log.error("Error for HTTP request", {{"err", token.error()}});
                    record_phases();
                    metrics_.set_redirects(redirects_);
                    finish(ProbeOutcome::fail(FailureKind::Protocol, token.error()));
                    return;
                }
                authorization_ = oauth2_authorization(*token);
                send_first_hop();
            });
            return;
        }
        send_first_hop();
    }

    void send_first_hop() {
        Hop hop;
        hop.request = initial_;
        hop.server_name = names_.server_name;
        hops_.push_back(std::move(hop));
        // The first hop connects to an address: there is no DNS inside the request, so its
        // start and dnsDone are both the moment the connect starts (set in send_hop). When the
        // resolve phase was skipped for a proxy that no_proxy then bypasses, send_hop resolves.
        send_hop(net::IpAddress::parse(initial_.url.host));
    }

    // A hop whose URL names a host nobody resolved: Go's client resolves it itself, with no
    // family preference; the time counts as the hop's DNS (start -> dnsDone), summed into
    // phase "resolve".
    void resolve_hop() {
        Hop& current = hops_.back();
        if (current.times.start == 0) {
            current.times.start = Loop::now_ns();
        }
        resolving_ = ctx_.resolver.resolve(
            current.request.url.host, AF_UNSPEC, ctx_.remaining_ms(),
            [this](Result<std::vector<net::IpAddress>> addresses) {
                resolving_.reset();
                if (!addresses) {
                    Hop& hop = hops_.back();
                    hop.times.dns_done = Loop::now_ns();
                    ctx_.log.error("Error for HTTP request", {{"err", addresses.error()}});
                    record_phases();
                    metrics_.set_redirects(redirects_);
                    finish(ProbeOutcome::fail(FailureKind::Resolve, addresses.error()));
                    return;
                }
                send_hop(addresses->front());
            });
    }

    // Sends the last hop of hops_. address is the origin's (nullopt when a proxy resolves it).
    void send_hop(std::optional<net::IpAddress> address) {
        Hop& hop = hops_.back();
        const HttpUrl& url = hop.request.url;
        net::HttpExchangeOptions options;
        const auto port = parse_port(url.port, url.is_https() ? 443 : 80);
        if (!port) {
            fail_now(FailureKind::Resolve, "Error for HTTP request", "invalid port " + url.port);
            return;
        }
        const auto proxy_url = proxies_.proxy_for(url.scheme, url.host, url.port);
        if (proxy_url) {
            if (!proxy_address_ || proxy_->to_string() != proxy_url->to_string()) {
                // Resolve the proxy (once per proxy), then come back here.
                proxy_ = *proxy_url;
                resolve_proxy(address);
                return;
            }
            options.address = *proxy_address_;
            options.port = proxy_port_;
            net::HttpProxyOptions proxy;
            proxy.authority = url.authority();
            if (url.port.empty()) {
                proxy.authority += ":" + std::to_string(*port);
            }
            if (proxy_->user) {
                proxy.username = proxy_->user->username;
                proxy.password = proxy_->user->password.value_or("");
            }
            for (const auto& [name, values] : cfg_.proxy_connect_header) {
                for (const auto& value : values) {
                    proxy.connect_headers.add(name, value.value);
                }
            }
            options.proxy = std::move(proxy);
        } else {
            if (!address) {
                resolve_hop();
                return;
            }
            options.address = *address;
            options.port = *port;
        }
        if (!url.is_https() && cfg_.http2_prior_knowledge) {
            options.http2 = net::Http2Mode::Required;  // h2c with prior knowledge (sonde's own)
        }
        if (url.is_https()) {
            if (!ctx_.tls) {
                fail_now(FailureKind::Internal, "Error for HTTP request",
                         "no TLS context for this module");
                return;
            }
            options.tls = ctx_.tls;
            options.server_name = hop.server_name;
            // As Go's transport with enable_http2 (the default): h2 offered by ALPN, HTTP/1.1
            // kept when the server does not pick it. Plain http:// stays HTTP/1.1 (no h2c).
            options.http2 = cfg_.enable_http2 ? net::Http2Mode::Alpn : net::Http2Mode::Off;
        }
        std::size_t cap = kSafetyBodyCap;
        if (cfg_.body_size_limit > 0 && cfg_.compression.empty()) {
            // Without decoding, limit + 1 raw bytes are enough to tell "too large" apart.
            cap = static_cast<std::size_t>(cfg_.body_size_limit) + 1;
        }
        raw_body_.clear();
        body_overflow_ = false;
        // Streaming, so that a body over the cap is cut (as Go's MaxBytesReader stops reading)
        // instead of failing the exchange before the response can be evaluated.
        options.on_body_chunk = [this, cap](std::string_view chunk) {
            const std::size_t room = cap > raw_body_.size() ? cap - raw_body_.size() : 0;
            raw_body_.append(chunk.substr(0, std::min(room, chunk.size())));
            if (chunk.size() > room) {
                // Go's MaxBytesReader errors at once: stop reading an endless or huge body
                // here instead of draining it until the deadline.
                body_overflow_ = true;
                exchange_->end_early();
            }
        };

        // The exporter sets the response gauges after reading the body, whatever that read
        // gave; a body cut by the deadline still leaves the final response's status, length
        // and redirects. So they are recorded as soon as a final head arrives.
        options.on_head = [this](const net::HttpResponseHead& head) {
            const Hop& current = hops_.back();
            const std::string* location = head.headers.find("Location");
            const RedirectDecision decision = decide_redirect(
                head.status, location != nullptr && !location->empty(), current.request.method,
                !current.request.body.empty(), cfg_.body_file.empty(),
                static_cast<int>(hops_.size()), redirects_, cfg_.follow_redirects);
            if (decision.action != RedirectDecision::Action::Follow) {
                metrics_.record_response(head.status, head.content_length, exchange_->used_tls());
                metrics_.set_redirects(decision.redirects);
            }
        };

        net::HttpClientRequest request;
        request.method = hop.request.method;
        request.target = url.request_target();
        request.headers.add("Host", hop.request.host_header);
        for (const auto& field : hop.request.headers.fields()) {
            if (!authorization_.empty() && net::iequals(field.name, "Authorization")) {
                continue;  // oauth2.Transport sets its own on every request
            }
            request.headers.add(field.name, field.value);
        }
        if (!authorization_.empty()) {
            request.headers.add("Authorization", authorization_);
        }
        request.body = hop.request.body;

        hop.times.tls = url.is_https();
        exchange_ = std::make_unique<net::HttpExchange>(ctx_.loop);
        exchange_->start(
            std::move(options), std::move(request),
            [this](std::optional<net::HttpError> error) { on_exchange_done(std::move(error)); });
    }

    void resolve_proxy(std::optional<net::IpAddress> origin) {
        proxy_address_.reset();
        const auto port = parse_port(proxy_->port(), proxy_->scheme == "https" ? 443 : 80);
        if (!port) {
            fail_now(FailureKind::Internal, "Error parsing proxy URL",
                     "invalid proxy port " + proxy_->port());
            return;
        }
        proxy_port_ = *port;
        resolving_ = ctx_.resolver.resolve(
            proxy_->hostname(), AF_UNSPEC, ctx_.remaining_ms(),
            [this, origin](Result<std::vector<net::IpAddress>> addresses) {
                resolving_.reset();
                if (!addresses) {
                    ctx_.log.error("Error for HTTP request", {{"err", addresses.error()}});
                    finish(ProbeOutcome::fail(FailureKind::Resolve,
                                              "proxyconnect: " + addresses.error()));
                    return;
                }
                proxy_address_ = addresses->front();
                send_hop(origin);
            });
    }

    void on_exchange_done(std::optional<net::HttpError> error) {
        Hop& hop = hops_.back();
        const net::HttpExchangeTimes& t = exchange_->times();
        if (hop.times.start == 0) {
            hop.times.start = t.start_ns;
        }
        hop.times.dns_done = t.start_ns;
        hop.times.connect_done = t.connect_done_ns;
        hop.times.tls_start = t.tls_start_ns;
        hop.times.tls_done = t.tls_done_ns;
        hop.times.got_conn = t.conn_ready_ns;
        hop.times.response_start = t.first_byte_ns;

        const net::HttpResponseHead& head = exchange_->response().head;
        if (error) {
            ctx_.log.error("Error for HTTP request", {{"err", error->message}});
            if (head.status != 0) {
                // Go's client had returned the response; reading its body failed afterwards.
                metrics_.record_response(head.status, head.content_length, exchange_->used_tls());
            }
            record_phases();
            metrics_.set_redirects(redirects_);
            finish(ProbeOutcome::fail(failure_kind(error->kind), error->message));
            return;
        }
        const std::int64_t now = std::time(nullptr);
        std::vector<std::string> set_cookie;
        for (const auto& field : head.headers.fields()) {
            if (net::iequals(field.name, "Set-Cookie")) {
                set_cookie.push_back(field.value);
            }
        }
        jar_.set_cookies(hop.request.url, set_cookie, now);

        const std::string* location = head.headers.find("Location");
        const RedirectDecision decision =
            decide_redirect(head.status, location != nullptr && !location->empty(),
                            hop.request.method, !hop.request.body.empty(), cfg_.body_file.empty(),
                            static_cast<int>(hops_.size()), redirects_, cfg_.follow_redirects);
        redirects_ = decision.redirects;
        if (decision.action != RedirectDecision::Action::Final) {
            ctx_.log.info("Received redirect", {{"location", *location}});
        }
        if (decision.action == RedirectDecision::Action::Follow) {
            follow(*location, decision);
            return;
        }
        if (decision.action == RedirectDecision::Action::Stop) {
            if (cfg_.follow_redirects) {
                ctx_.log.info("Maximum redirects exceeded", {{"max", "10"}});
            } else {
                ctx_.log.info("Not following redirect");
            }
        }
        hop.times.end = t.body_done_ns;
        evaluate(decision.action == RedirectDecision::Action::Stop);
    }

    void follow(const std::string& location, const RedirectDecision& decision) {
        const Hop& previous = hops_.back();
        auto next = resolve_location(previous.request.url, location);
        if (!next) {
            ctx_.log.error("Error for HTTP request", {{"err", next.error()}});
            record_phases();
            metrics_.set_redirects(redirects_);
            finish(ProbeOutcome::fail(FailureKind::Protocol, next.error()));
            return;
        }
        HopInputs inputs =
            redirect_hop(initial_, initial_headers_, previous.request, *next, location, decision);
        inputs.cookie_header = jar_.cookie_header(*next, std::time(nullptr));
        auto request = finish_request(cfg_, std::move(inputs));
        if (!request) {
            ctx_.log.error("Error for HTTP request", {{"err", request.error()}});
            record_phases();
            metrics_.set_redirects(redirects_);
            finish(ProbeOutcome::fail(FailureKind::Internal, request.error()));
            return;
        }
        Hop hop;
        hop.request = std::move(*request);
        // The first hop's name while the redirect stays on the first hop's host; another host
        // is verified against its own name, as Go's client does for a URL it resolves itself.
        if (hop.request.url.host == initial_.url.host) {
            hop.server_name = names_.server_name;
        } else if (!cfg_.tls_config.server_name.empty()) {
            hop.server_name = cfg_.tls_config.server_name;
        } else {
            hop.server_name = hop.request.url.host;
        }
        hop.times.start = Loop::now_ns();
        hops_.push_back(std::move(hop));
        exchange_.reset();
        // Through a proxy, the proxy reaches the redirect's host itself; otherwise send_hop
        // resolves it (resolve_hop).
        send_hop(std::nullopt);
    }

    void evaluate(bool redirect_not_followed) {
        const net::HttpClientResponse& response = exchange_->response();
        const bool over_tls = exchange_->used_tls();
        FinalResponse final_response;
        final_response.status_code = response.head.status;
        final_response.proto = response.head.version();
        final_response.headers = response.head.headers;
        final_response.raw_body = raw_body_;
        final_response.over_tls = over_tls;
        final_response.redirect_not_followed = redirect_not_followed;
        Verdict verdict = evaluate_response(cfg_, final_response);
        if (body_overflow_ && verdict.success && cfg_.body_size_limit <= 0) {
            // Only the safety cap can cut a body when no limit is configured.
            verdict.success = false;
            verdict.message = "Failed to read HTTP response body";
            verdict.log.push_back({LogLevel::Error, "http: request body too large", {}});
        }
        for (const LogLine& line : verdict.log) {
            write_log(ctx_.log, line);
        }

        record_phases();
        metrics_.record_response(response.head.status, response.head.content_length, over_tls);
        metrics_.set_redirects(redirects_);
        metrics_.record_verdict(verdict);
        if (over_tls && exchange_->tls_session() != nullptr) {
            record_tls_metrics(ctx_.registry, *exchange_->tls_session(), /*include_cipher=*/true);
        }
        if (!verdict.success) {
            write_log(ctx_.log, {LogLevel::Error, verdict.message, verdict.fields});
            finish(ProbeOutcome::fail(FailureKind::Validation, verdict.message));
            return;
        }
        finish(ProbeOutcome::ok());
    }

    void record_phases() {
        std::vector<HopTimestamps> times;
        times.reserve(hops_.size());
        for (const Hop& hop : hops_) {
            times.push_back(hop.times);
        }
        metrics_.record_phases(times);
    }

    // Failures found inside start(): done never runs inside start_http_probe().
    void fail_later(FailureKind kind, const char* message, std::string reason) {
        ctx_.log.error(message, {{"err", reason}});
        ctx_.loop.post(alive_, [this, kind, reason = std::move(reason)]() mutable {
            finish(ProbeOutcome::fail(kind, std::move(reason)));
        });
    }

    // Failures found later may still be inside start() (skip_resolve with a proxy starts the
    // first hop from there), so they also go through the loop.
    void fail_now(FailureKind kind, const char* message, std::string reason) {
        fail_later(kind, message, std::move(reason));
    }

    void finish(ProbeOutcome outcome) {
        if (finished_) {
            return;
        }
        finished_ = true;
        resolving_.reset();
        // The token fetch and the exchange may be on the stack below us (its done callback): it is
        // closed already and is freed with the session, never here.
        auto done = std::move(done_);
        done(std::move(outcome));  // last statement: the runner may now delete this session
    }

    ProbeContext& ctx_;
    const config::HttpProbe& cfg_;
    ProbeDone done_;
    HttpMetrics metrics_;
    HttpUrl target_url_;
    HeaderList headers_;
    HostNames names_;
    ProxySelector proxies_;
    std::optional<net::Url> proxy_;  // the proxy proxy_address_ belongs to
    std::optional<net::IpAddress> proxy_address_;
    std::uint16_t proxy_port_ = 0;
    net::HttpHeaders initial_headers_;
    OutgoingRequest initial_;
    std::vector<Hop> hops_;
    int redirects_ = 0;
    CookieJar jar_;
    std::string raw_body_;
    bool body_overflow_ = false;
    std::uint64_t resolve_started_ = 0;
    std::unique_ptr<net::ResolveRequest> resolving_;
    std::unique_ptr<OAuth2TokenFetch> token_fetch_;
    std::string authorization_;  // from the oauth2 token, set on every hop
    std::unique_ptr<net::HttpExchange> exchange_;
    bool finished_ = false;
    Alive alive_;
};

}  // namespace

std::unique_ptr<ProbeSession> start_http_probe(ProbeContext& ctx, ProbeDone done) {
    auto session = std::make_unique<HttpProbeSession>(ctx, std::move(done));
    session->start();
    return session;
}

Result<void> check_http_hostname(const config::Module& module, const std::string& hostname) {
    if (module.prober != config::ProberKind::Http || hostname.empty()) {
        return {};
    }
    auto headers = apply_hostname_param(module.http.headers, hostname);
    if (!headers) {
        return unexpected(headers.error());
    }
    return {};
}

}  // namespace sonde::modules::http

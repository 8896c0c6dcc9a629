#include "prober/app/module_runtime.hpp"

#include "modules/probe.hpp"
#include "prober/net/tls_context.hpp"

namespace sonde::app {

std::shared_ptr<const net::TlsClientContext> RuntimeConfig::tls_for(
    const std::string& module) const {
    const auto it = tls.find(module);
    return it == tls.end() ? nullptr : it->second;
}

Result<std::shared_ptr<const net::TlsClientContext>> build_tls_context(
    const config::Module& module) {
    using Ctx = std::shared_ptr<const net::TlsClientContext>;
    switch (module.prober) {
        case config::ProberKind::Tcp:
        case config::ProberKind::Unix: {
            // The same dialog over either socket: TLS from the start or by a starttls step.
            const bool is_tcp = module.prober == config::ProberKind::Tcp;
            bool uses_tls = is_tcp ? module.tcp.tls : module.unix_socket.tls;
            for (const auto& step :
                 is_tcp ? module.tcp.query_response : module.unix_socket.query_response) {
                uses_tls = uses_tls || step.starttls;
            }
            if (!uses_tls) {
                return Ctx{};
            }
            auto ctx = net::make_tls_client_context(is_tcp ? module.tcp.tls_config
                                                           : module.unix_socket.tls_config);
            if (!ctx) {
                return unexpected(ctx.error());
            }
            return Ctx{*ctx};
        }
        case config::ProberKind::Dns: {
            // DNS over TLS only; a tls_config without dns_over_tls is ignored, as the exporter.
            if (!module.dns.dns_over_tls) {
                return Ctx{};
            }
            auto ctx = net::make_tls_client_context(module.dns.tls_config);
            if (!ctx) {
                return unexpected(ctx.error());
            }
            return Ctx{*ctx};
        }
        case config::ProberKind::Http: {
            // Always, even for an http:// target: a redirect may lead to https.
            auto ctx = net::make_tls_client_context(module.http.tls_config);
            if (!ctx) {
                return unexpected(ctx.error());
            }
            return Ctx{*ctx};
        }
        case config::ProberKind::Grpc: {
            // `tls: true` turns TLS on; a tls_config alone does not, as in the exporter.
            if (!module.grpc.tls) {
                return Ctx{};
            }
            auto ctx = net::make_tls_client_context(module.grpc.tls_config);
            if (!ctx) {
                return unexpected(ctx.error());
            }
            return Ctx{*ctx};
        }
        case config::ProberKind::Tls: {
            // The whole point of the prober: always a context, verification on by default.
            auto ctx = net::make_tls_client_context(module.tls.tls_config);
            if (!ctx) {
                return unexpected(ctx.error());
            }
            return Ctx{*ctx};
        }
        case config::ProberKind::Websocket: {
            // Always: whether TLS is spoken (wss://) is up to each target.
            auto ctx = net::make_tls_client_context(module.websocket.tls_config);
            if (!ctx) {
                return unexpected(ctx.error());
            }
            return Ctx{*ctx};
        }
        case config::ProberKind::Icmp:
            return Ctx{};
    }
    return Ctx{};
}

Result<std::shared_ptr<const RuntimeConfig>> build_runtime(
    std::shared_ptr<const config::Config> config, std::vector<std::string> loader_warnings) {
    auto runtime = std::make_shared<RuntimeConfig>();
    runtime->warnings = std::move(loader_warnings);
    for (const auto& [name, module] : config->modules) {
        if (module.prober == config::ProberKind::Http) {
            // Options that load (the exporter's own blackbox.yml uses them) but that sonde
            // cannot honour yet: said once here, and each probe fails with the reason.
            const auto& http = module.http;
            if (!http.fail_if_body_json_matches_cel.empty() ||
                !http.fail_if_body_json_not_matches_cel.empty()) {
                runtime->warnings.push_back("module " + name +
                                            ": CEL body checks are not supported by sonde yet; "
                                            "its probes will fail");
            }
            if (http.enable_http3) {
                runtime->warnings.push_back("module " + name +
                                            ": enable_http3 (HTTP/3) is not supported by sonde "
                                            "yet; its probes will fail");
            }
        }
        auto tls = build_tls_context(module);
        if (!tls) {
            return unexpected("module " + name + ": " + tls.error());
        }
        if (*tls) {
            runtime->tls.emplace(name, *tls);
        }
    }
    runtime->config = std::move(config);
    return std::shared_ptr<const RuntimeConfig>(std::move(runtime));
}

}  // namespace sonde::app

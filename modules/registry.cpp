// The explicit prober table, as the exporter's `Probers` map: one line per kind.
#include "modules/dns/dns_probe.hpp"
#include "modules/grpc/grpc_probe.hpp"
#include "modules/http/http_probe.hpp"
#include "modules/icmp/icmp_probe.hpp"
#include "modules/probe.hpp"
#include "modules/tcp/tcp_probe.hpp"
#include "modules/tls/tls_probe.hpp"
#include "modules/websocket/websocket_probe.hpp"

namespace sonde::modules {

StartProbe find_prober(config::ProberKind kind) {
    switch (kind) {
        case config::ProberKind::Tcp:
            return &tcp::start_tcp_probe;
        case config::ProberKind::Dns:
            return &dns::start_dns_probe;
        case config::ProberKind::Icmp:
            return &icmp::start_icmp_probe;
        case config::ProberKind::Http:
            return &http::start_http_probe;
        case config::ProberKind::Tls:
            return &tls::start_tls_probe;
        case config::ProberKind::Unix:
            return &tcp::start_unix_probe;
        case config::ProberKind::Grpc:
            return &grpc::start_grpc_probe;
        case config::ProberKind::Websocket:
            return &websocket::start_websocket_probe;
    }
    return nullptr;  // not reached: every enumerator returns above
}

}  // namespace sonde::modules

#include "config/config.hpp"

namespace sonde::config {

const char* prober_name(ProberKind kind) {
    switch (kind) {
        case ProberKind::Http:
            return "http";
        case ProberKind::Tcp:
            return "tcp";
        case ProberKind::Dns:
            return "dns";
        case ProberKind::Icmp:
            return "icmp";
        case ProberKind::Grpc:
            return "grpc";
        case ProberKind::Unix:
            return "unix";
        case ProberKind::Websocket:
            return "websocket";
    }
    return "unknown";
}

}  // namespace sonde::config

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
        case ProberKind::Tls:
            return "tls";
    }
    return "unknown";
}

const char* starttls_name(StartTls protocol) {
    switch (protocol) {
        case StartTls::None:
            return "";
        case StartTls::Smtp:
            return "smtp";
        case StartTls::Imap:
            return "imap";
        case StartTls::Pop3:
            return "pop3";
        case StartTls::Ftp:
            return "ftp";
        case StartTls::Postgres:
            return "postgres";
    }
    return "";
}

}  // namespace sonde::config

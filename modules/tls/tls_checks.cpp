#include "modules/tls/tls_checks.hpp"

#include <chrono>
#include <vector>

#include <prometheus/gauge.h>

#include "config/duration.hpp"
#include "modules/common/tls_metrics_format.hpp"

namespace sonde::modules::tls {
namespace {

void set_tls_check_gauge(prometheus::Registry& registry, const char* name, const char* help,
                         double value) {
    prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({}).Set(value);
}

std::string utc_text(double unix_seconds) {
    const auto when = static_cast<std::time_t>(unix_seconds);
    std::tm parts{};
    if (gmtime_r(&when, &parts) == nullptr) {
        return std::to_string(unix_seconds);
    }
    char text[32];
    const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return std::string(text, n);
}

}  // namespace

std::optional<std::string> find_expiring_certificate(const net::TlsSession& session,
                                                     config::Duration window, std::time_t now) {
    std::vector<const X509*> certs = session.verified_chain();
    if (certs.empty()) {
        const std::vector<const X509*> peer = session.peer_chain();
        if (peer.empty()) {
            return std::nullopt;
        }
        certs.push_back(peer.front());
    }
    const double limit = static_cast<double>(now) +
                         std::chrono::duration_cast<std::chrono::duration<double>>(window).count();
    for (std::size_t depth = 0; depth < certs.size(); ++depth) {
        const double expiry = not_after_unix(certs[depth]);
        if (expiry < limit) {
            return "certificate \"" + go_name_string(X509_get_subject_name(certs[depth])) +
                   "\" (depth " + std::to_string(depth) + ") expires at " + utc_text(expiry) +
                   ", within fail_if_expires_within " + config::format_go_duration(window);
        }
    }
    return std::nullopt;
}

void record_ocsp_metrics(prometheus::Registry& registry, const net::OcspStaple& staple) {
    set_tls_check_gauge(registry, "probe_tls_ocsp_stapled",
                        "Whether the server stapled an OCSP response to the TLS handshake",
                        staple.stapled ? 1 : 0);
    if (staple.stapled) {
        set_tls_check_gauge(
            registry, "probe_tls_ocsp_status",
            "Stapled OCSP status of the leaf: 0 good, 1 revoked, 2 unknown, -1 unusable response",
            static_cast<double>(static_cast<int>(staple.status)));
    }
}

void record_expiry_check_metric(prometheus::Registry& registry, bool failed) {
    set_tls_check_gauge(registry, "probe_tls_cert_expires_within_failed",
                        "Whether a certificate expires within fail_if_expires_within",
                        failed ? 1 : 0);
}

}  // namespace sonde::modules::tls

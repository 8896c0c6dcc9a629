#include "modules/common/tls_metrics.hpp"

#include <vector>

#include <prometheus/gauge.h>

#include "modules/common/tls_metrics_format.hpp"

namespace sonde::modules {
namespace {

// Go's getEarliestCertExpiry: the smallest NotAfter, or the zero time for no certificates.
double earliest_expiry(const std::vector<const X509*>& certs) {
    double earliest = kGoZeroTimeUnix;
    for (const X509* cert : certs) {
        const double expiry = not_after_unix(cert);
        if (earliest == kGoZeroTimeUnix || expiry < earliest) {
            earliest = expiry;
        }
    }
    return earliest;
}

void set_gauge(prometheus::Registry& registry, const char* name, const char* help,
               const prometheus::Labels& labels, double value) {
    prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add(labels).Set(value);
}

}  // namespace

void record_tls_metrics(prometheus::Registry& registry, const net::TlsSession& session,
                        bool include_cipher) {
    const std::vector<const X509*> peer_chain = session.peer_chain();

    // The HELP texts are the exporter's, wording quirks included ("last SSL chain" for the
    // earliest expiry), because tools compare them.
    set_gauge(registry, "probe_ssl_earliest_cert_expiry",
              "Returns last SSL chain expiry in unixtime", {}, earliest_expiry(peer_chain));
    // With one verified chain, Go's "max over chains of the chain's earliest expiry" is that
    // chain's earliest expiry; with none it stays the zero time.
    set_gauge(registry, "probe_ssl_last_chain_expiry_timestamp_seconds",
              "Returns last SSL chain expiry in timestamp", {},
              earliest_expiry(session.verified_chain()));

    if (!peer_chain.empty()) {
        const X509* leaf = peer_chain.front();
        set_gauge(registry, "probe_ssl_last_chain_info",
                  "Contains SSL leaf certificate information",
                  {{"fingerprint_sha256", sha256_fingerprint(leaf)},
                   {"subject", go_name_string(X509_get_subject_name(leaf))},
                   {"issuer", go_name_string(X509_get_issuer_name(leaf))},
                   {"subjectalternative", dns_names_joined(leaf)},
                   {"serialnumber", go_serial_hex(leaf)}},
                  1);
    }

    set_gauge(registry, "probe_tls_version_info",
              "Returns the TLS version used or NaN when unknown", {{"version", session.version()}},
              1);
    if (include_cipher) {
        set_gauge(registry, "probe_tls_cipher_info",
                  "Returns the TLS cipher negotiated during handshake",
                  {{"cipher", session.cipher()}}, 1);
    }
}

}  // namespace sonde::modules

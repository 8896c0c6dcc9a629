#pragma once

// TLS contexts: the per-module, immutable half of TLS (trust roots, client certificate, version
// range, verification mode). The per-connection half is TlsSession (prober/net/tls_session.hpp).
//
// Ownership and threading: a context is built once, when a module's config is loaded, and is
// then shared read-only as std::shared_ptr<const ...> by every session of that module; a reload
// builds new contexts and in-flight sessions keep theirs. Sessions hold their own reference (both
// the shared_ptr and OpenSSL's SSL_CTX refcount), so a context may be released while sessions
// built from it are still running. Nothing may change the SSL_CTX after construction; that is
// what makes sharing it between sessions (and, later, loops on other threads) safe.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "config/config.hpp"
#include "prober/core/result.hpp"
#include "prober/net/tls_ptr.hpp"

namespace sonde::net {

// The client side, as built from a module's <tls_config>.
class TlsClientContext {
public:
    // For SSL_new only; the context is logically const (see above).
    SSL_CTX* native() const { return ctx_.get(); }
    // tls_config.server_name ("" = use the target host).
    const std::string& server_name() const { return server_name_; }
    bool insecure_skip_verify() const { return insecure_skip_verify_; }
    // OpenSSL protocol constants (TLS1_2_VERSION...), after Go's defaults were applied.
    int min_version() const { return min_version_; }
    int max_version() const { return max_version_; }

private:
    friend Result<std::shared_ptr<const TlsClientContext>> make_tls_client_context(
        const config::TlsConfig& config);
    TlsClientContext() = default;

    SslCtxPtr ctx_;
    std::string server_name_;
    bool insecure_skip_verify_ = false;
    int min_version_ = 0;
    int max_version_ = 0;
};

// Builds the client context, the way Go's crypto/tls with prometheus/common's TLSConfig behaves:
//  - trust: the system's default roots, unless ca or ca_file is given, then only those;
//  - a client certificate (cert/cert_file, may hold a chain) with its key (key/key_file);
//  - versions: min TLS 1.2 and max TLS 1.3 when unset (Go's client defaults);
//  - verification of the peer chain (and, per session, its name) unless insecure_skip_verify;
//  - no session resumption, so every probe does a full handshake and sees the certificates;
//  - EOF at a record boundary without close_notify counts as a clean end, as in Go.
// Errors name the file or field at fault, e.g. `unable to read CA file "/x.pem": No such file
// or directory`.
[[nodiscard]] Result<std::shared_ptr<const TlsClientContext>> make_tls_client_context(
    const config::TlsConfig& config);

// Options of the server side, used by tests and by loopback TLS servers in integration tests.
struct TlsServerOptions {
    // Unset: OpenSSL's defaults (TLS 1.2 to TLS 1.3 at Debian's security level).
    std::optional<config::TlsVersion> min_version;
    std::optional<config::TlsVersion> max_version;
    // When not empty, the server asks for a client certificate and verifies it against these
    // roots (PEM).
    std::string client_ca_pem;
    // With client_ca_pem: fail the handshake when the client sends no certificate.
    bool require_client_cert = false;
    // Ask for a client certificate and accept any, unverified (Go's RequestClientCert, and
    // RequireAnyClientCert together with require_client_cert); client_ca_pem is then unused.
    bool accept_any_client_cert = false;
    // Verify client certificates against the system's roots when client_ca_pem is empty (Go
    // verifies against them when ClientCAs is nil).
    bool verify_with_system_roots = false;
    // OpenSSL cipher list for TLS 1.2 and below, and group list; empty keeps the defaults.
    std::string cipher_list;
    std::string groups_list;
    bool prefer_server_ciphers = false;
    // A DER-encoded OCSP response stapled to every handshake whose client asks for the
    // certificate status (tests of OCSP stapling); empty: nothing is stapled.
    std::string ocsp_staple;
    // Names the certificate and key in errors ("(inline)" when empty).
    std::string cert_label;
    std::string key_label;
};

class TlsServerContext {
public:
    SSL_CTX* native() const { return ctx_.get(); }

private:
    friend Result<std::shared_ptr<const TlsServerContext>> make_tls_server_context(
        std::string_view cert_chain_pem, std::string_view key_pem, const TlsServerOptions& options);
    TlsServerContext() = default;

    SslCtxPtr ctx_;
    std::string ocsp_staple_;  // the status callback's argument points here
};

// cert_chain_pem: the leaf first, then any chain certificates the server should send (sent as
// given, so tests can present extra or unrelated certificates).
[[nodiscard]] Result<std::shared_ptr<const TlsServerContext>> make_tls_server_context(
    std::string_view cert_chain_pem, std::string_view key_pem,
    const TlsServerOptions& options = {});

// "TLS 1.2" for TLS1_2_VERSION and so on, as the exporter names versions; "unknown" otherwise.
std::string tls_version_name(int version);

}  // namespace sonde::net

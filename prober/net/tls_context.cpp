#include "prober/net/tls_context.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <system_error>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "prober/net/tls_errors.hpp"

namespace sonde::net {
namespace {

// Appends the drained OpenSSL queue (if any) to a message.
std::string with_openssl_detail(std::string message) {
    std::string detail = drain_openssl_errors();
    if (!detail.empty()) {
        message += ": ";
        message += detail;
    }
    return message;
}

// Reads a whole file ourselves (instead of letting OpenSSL open it) so that the error names the
// file and says why in plain words, which OpenSSL's "system library" entries do not.
Result<std::string> read_file(const std::string& path, std::string_view what) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        const int err = errno;
        return unexpected("unable to read " + std::string(what) + " \"" + path +
                          "\": " + std::error_code(err, std::generic_category()).message());
    }
    std::string content;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
        content.append(buffer.data(), n);
    }
    const bool failed = std::ferror(file) != 0;
    const int err = errno;
    (void)std::fclose(file);
    if (failed) {
        return unexpected("unable to read " + std::string(what) + " \"" + path +
                          "\": " + std::error_code(err, std::generic_category()).message());
    }
    return content;
}

// Inline PEM text, or the content of the file; `label` names the source in messages.
struct PemSource {
    std::string text;
    std::string label;  // `"/path/ca.pem"` or `inline`
};

Result<PemSource> pem_source(const std::string& inline_text, const std::string& file,
                             std::string_view what) {
    if (!file.empty()) {
        auto content = read_file(file, what);
        if (!content) {
            return Error{content.error()};
        }
        return PemSource{std::move(*content), "\"" + file + "\""};
    }
    return PemSource{inline_text, "(inline)"};
}

BioPtr memory_bio(std::string_view text) {
    // BIO_new_mem_buf does not copy; the BIO only lives as long as the text it reads.
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate in a PEM text, in order. An empty result is an error: a CA or certificate
// file that holds none is a mistake the user should hear about at config load.
Result<std::vector<X509Ptr>> parse_certificates(std::string_view pem, std::string_view what) {
    ERR_clear_error();
    std::vector<X509Ptr> certs;
    BioPtr bio = memory_bio(pem);
    if (!bio) {
        return unexpected(with_openssl_detail("unable to use " + std::string(what)));
    }
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        certs.emplace_back(cert);
    }
    // Reading stops with "no start line" at the end of the text; that entry is the normal end,
    // anything else is a malformed certificate.
    const unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
    }
    std::string detail = drain_openssl_errors();
    if (!detail.empty()) {
        return unexpected("unable to use " + std::string(what) + ": " + detail);
    }
    if (certs.empty()) {
        return unexpected("unable to use " + std::string(what) + ": no PEM certificate found");
    }
    return certs;
}

Result<EvpPkeyPtr> parse_private_key(std::string_view pem, std::string_view what) {
    ERR_clear_error();
    BioPtr bio = memory_bio(pem);
    EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) {
        return unexpected(with_openssl_detail("unable to use " + std::string(what)));
    }
    return key;
}

int openssl_version(config::TlsVersion version) {
    switch (version) {
        case config::TlsVersion::Tls10:
            return TLS1_VERSION;
        case config::TlsVersion::Tls11:
            return TLS1_1_VERSION;
        case config::TlsVersion::Tls12:
            return TLS1_2_VERSION;
        case config::TlsVersion::Tls13:
            return TLS1_3_VERSION;
    }
    return 0;
}

Result<void> set_versions(SSL_CTX* ctx, int min_version, int max_version) {
    ERR_clear_error();
    if (min_version != 0 && max_version != 0 && min_version > max_version) {
        return unexpected("TLS min_version " + tls_version_name(min_version) +
                          " is above max_version " + tls_version_name(max_version));
    }
    if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, max_version) != 1) {
        return unexpected(with_openssl_detail("unable to set the TLS version range"));
    }
    return {};
}

// Installs the certificate chain (leaf first) and its key.
Result<void> use_certificate(SSL_CTX* ctx, std::string_view cert_pem, std::string_view key_pem,
                             const std::string& cert_label, const std::string& key_label,
                             std::string_view role) {
    auto certs = parse_certificates(cert_pem, std::string(role) + " certificate " + cert_label);
    if (!certs) {
        return Error{certs.error()};
    }
    auto key = parse_private_key(key_pem, std::string(role) + " key " + key_label);
    if (!key) {
        return Error{key.error()};
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate(ctx, certs->front().get()) != 1) {
        return unexpected(with_openssl_detail("unable to use " + std::string(role) +
                                              " certificate " + cert_label));
    }
    for (std::size_t i = 1; i < certs->size(); ++i) {
        // add1 takes its own reference, so our vector still frees its copy.
        if (SSL_CTX_add1_chain_cert(ctx, (*certs)[i].get()) != 1) {
            return unexpected(with_openssl_detail("unable to use chain certificate " +
                                                  std::to_string(i) + " of " + cert_label));
        }
    }
    if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        return unexpected(with_openssl_detail(std::string(role) + " certificate " + cert_label +
                                              " and key " + key_label + " do not match"));
    }
    return {};
}

// Replaces the context's trust store with exactly the given roots.
Result<void> use_roots(SSL_CTX* ctx, std::string_view pem, const std::string& label) {
    auto certs = parse_certificates(pem, "CA certificate " + label);
    if (!certs) {
        return Error{certs.error()};
    }
    ERR_clear_error();
    X509StorePtr store(X509_STORE_new());
    if (!store) {
        return unexpected(with_openssl_detail("unable to create a certificate store"));
    }
    for (const X509Ptr& cert : *certs) {
        // A certificate repeated in the file is not an error for Go either.
        if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
            const unsigned long code = ERR_peek_last_error();
            if (ERR_GET_REASON(code) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
                return unexpected(with_openssl_detail("unable to use CA certificate " + label));
            }
            ERR_clear_error();
        }
    }
    SSL_CTX_set_cert_store(ctx, store.release());  // The context takes ownership.
    return {};
}

// The server's OCSP status callback (TlsServerOptions::ocsp_staple): hands OpenSSL a copy of
// the response, which it frees itself after sending.
int on_ocsp_status_request(SSL* ssl, void* arg) noexcept {
    const auto* staple = static_cast<const std::string*>(arg);
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(staple->data(), staple->size()));
    if (copy == nullptr) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(staple->size())) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::string tls_version_name(int version) {
    switch (version) {
        case TLS1_VERSION:
            return "TLS 1.0";
        case TLS1_1_VERSION:
            return "TLS 1.1";
        case TLS1_2_VERSION:
            return "TLS 1.2";
        case TLS1_3_VERSION:
            return "TLS 1.3";
        default:
            return "unknown";
    }
}

Result<std::shared_ptr<const TlsClientContext>> make_tls_client_context(
    const config::TlsConfig& config) {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        return unexpected(with_openssl_detail("unable to create a TLS client context"));
    }

    const bool has_cert = !config.cert.empty() || !config.cert_file.empty();
    const bool has_key = !config.key.empty() || !config.key_file.empty();
    if (has_cert != has_key) {
        // The config loader rejects this already; checked again because contexts may be built
        // from code too.
        return unexpected(has_cert ? "client certificate given without a key"
                                   : "client key given without a certificate");
    }

    if (!config.ca.empty() || !config.ca_file.empty()) {
        auto source = pem_source(config.ca, config.ca_file, "CA file");
        if (!source) {
            return Error{source.error()};
        }
        if (auto ok = use_roots(ctx.get(), source->text, source->label); !ok) {
            return Error{ok.error()};
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
        return unexpected(with_openssl_detail("unable to load the system's CA certificates"));
    }

    if (has_cert) {
        auto cert = pem_source(config.cert, config.cert_file, "client certificate file");
        if (!cert) {
            return Error{cert.error()};
        }
        auto key = pem_source(config.key.value, config.key_file, "client key file");
        if (!key) {
            return Error{key.error()};
        }
        if (auto ok = use_certificate(ctx.get(), cert->text, key->text, cert->label, key->label,
                                      "client");
            !ok) {
            return Error{ok.error()};
        }
    }

    const int min_version =
        config.min_version ? openssl_version(*config.min_version) : TLS1_2_VERSION;
    const int max_version =
        config.max_version ? openssl_version(*config.max_version) : TLS1_3_VERSION;
    if (auto ok = set_versions(ctx.get(), min_version, max_version); !ok) {
        return Error{ok.error()};
    }

    // The chain is verified during the handshake; the name is checked there too, set per
    // session (TlsSession) because it depends on the target.
    SSL_CTX_set_verify(ctx.get(), config.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       nullptr);
    // A probe must see the server's certificates every time; a resumed session would skip them.
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    // Go's crypto/tls treats EOF at a record boundary as a normal end of stream (io.EOF), and
    // many servers close without close_notify; OpenSSL 3 would call it an error.
    SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    // A probe has no use for renegotiation, and refusing it means SSL_write on a memory BIO
    // never has to wait for the peer.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);

    std::shared_ptr<TlsClientContext> result(new TlsClientContext());
    result->ctx_ = std::move(ctx);
    result->server_name_ = config.server_name;
    result->insecure_skip_verify_ = config.insecure_skip_verify;
    result->min_version_ = min_version;
    result->max_version_ = max_version;
    return std::shared_ptr<const TlsClientContext>(std::move(result));
}

Result<std::shared_ptr<const TlsServerContext>> make_tls_server_context(
    std::string_view cert_chain_pem, std::string_view key_pem, const TlsServerOptions& options) {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
        return unexpected(with_openssl_detail("unable to create a TLS server context"));
    }
    const std::string cert_label = options.cert_label.empty() ? "(inline)" : options.cert_label;
    const std::string key_label = options.key_label.empty() ? "(inline)" : options.key_label;
    if (auto ok =
            use_certificate(ctx.get(), cert_chain_pem, key_pem, cert_label, key_label, "server");
        !ok) {
        return Error{ok.error()};
    }
    const int min_version = options.min_version ? openssl_version(*options.min_version) : 0;
    const int max_version = options.max_version ? openssl_version(*options.max_version) : 0;
    if (auto ok = set_versions(ctx.get(), min_version, max_version); !ok) {
        return Error{ok.error()};
    }
    if (!options.client_ca_pem.empty()) {
        if (auto ok = use_roots(ctx.get(), options.client_ca_pem, "(client CA)"); !ok) {
            return Error{ok.error()};
        }
        int mode = SSL_VERIFY_PEER;
        if (options.require_client_cert) {
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        }
        SSL_CTX_set_verify(ctx.get(), mode, nullptr);
    }
    if (options.accept_any_client_cert) {
        // Replaces chain verification (and with it the per-session verify callback) by a
        // check that accepts whatever the client sent.
        SSL_CTX_set_verify(
            ctx.get(),
            SSL_VERIFY_PEER | (options.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            nullptr);
        SSL_CTX_set_cert_verify_callback(
            ctx.get(), [](X509_STORE_CTX*, void*) noexcept { return 1; }, nullptr);
    } else if (options.verify_with_system_roots && options.client_ca_pem.empty()) {
        if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
            return unexpected(with_openssl_detail("unable to load the system's CA certificates"));
        }
        SSL_CTX_set_verify(
            ctx.get(),
            SSL_VERIFY_PEER | (options.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            nullptr);
    }
    if (!options.cipher_list.empty() &&
        SSL_CTX_set_cipher_list(ctx.get(), options.cipher_list.c_str()) != 1) {
        return unexpected(
            with_openssl_detail("unable to use cipher suites " + options.cipher_list));
    }
    if (!options.groups_list.empty() &&
        SSL_CTX_set1_groups_list(ctx.get(), options.groups_list.c_str()) != 1) {
        return unexpected(with_openssl_detail("unable to use curves " + options.groups_list));
    }
    if (options.prefer_server_ciphers) {
        SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
    }
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);

    std::shared_ptr<TlsServerContext> result(new TlsServerContext());
    if (!options.ocsp_staple.empty()) {
        // The callback's argument is the context's own copy, which lives as long as the
        // SSL_CTX it belongs to (the context object is never moved: it is heap-held here).
        result->ocsp_staple_ = options.ocsp_staple;
        SSL_CTX_set_tlsext_status_cb(ctx.get(), on_ocsp_status_request);
        SSL_CTX_set_tlsext_status_arg(ctx.get(), &result->ocsp_staple_);
    }
    result->ctx_ = std::move(ctx);
    return std::shared_ptr<const TlsServerContext>(std::move(result));
}

}  // namespace sonde::net

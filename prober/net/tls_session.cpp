#include "prober/net/tls_session.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <utility>

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "prober/net/tls_errors.hpp"

namespace sonde::net {

struct TlsSession::VerifyFailure {
    bool recorded = false;
    long error = X509_V_OK;
    int depth = 0;
    std::string subject;
    std::string not_before;
    std::string not_after;
    std::vector<std::string> names;  // the failing certificate's DNS and IP SANs
};

namespace {

// The SSL ex_data slot that points from an SSL to its session's VerifyFailure.
int verify_failure_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || name == nullptr) {
        return {};
    }
    (void)X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    return bio_text(bio.get());
}

std::string time_text(const ASN1_TIME* time) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || time == nullptr) {
        return {};
    }
    (void)ASN1_TIME_print_ex(bio.get(), time, ASN1_DTFLGS_ISO8601);
    return bio_text(bio.get());
}

std::vector<std::string> subject_alt_names(X509* cert) {
    std::vector<std::string> names;
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans == nullptr) {
        return names;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
        const GENERAL_NAME* san = sk_GENERAL_NAME_value(sans, i);
        if (san->type == GEN_DNS) {
            const ASN1_IA5STRING* dns = san->d.dNSName;
            names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                               static_cast<std::size_t>(ASN1_STRING_length(dns)));
        } else if (san->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* ip = san->d.iPAddress;
            std::array<char, INET6_ADDRSTRLEN> text{};
            const int length = ASN1_STRING_length(ip);
            const int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : AF_UNSPEC;
            if (family != AF_UNSPEC &&
                inet_ntop(family, ASN1_STRING_get0_data(ip), text.data(), text.size()) != nullptr) {
                names.emplace_back(text.data());
            }
        }
    }
    GENERAL_NAMES_free(sans);
    return names;
}

// OpenSSL's verify callback: records the first failure with what a person needs to fix it
// (which certificate, which dates, which names), because once the handshake returns only the
// bare error code is left. It never changes the verdict.
int on_verify(int preverify_ok, X509_STORE_CTX* store) noexcept {
    if (preverify_ok == 1) {
        return 1;
    }
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* failure =
        ssl == nullptr
            ? nullptr
            : static_cast<TlsSession::VerifyFailure*>(SSL_get_ex_data(ssl, verify_failure_index()));
    if (failure != nullptr && !failure->recorded) {
        failure->recorded = true;
        failure->error = X509_STORE_CTX_get_error(store);
        failure->depth = X509_STORE_CTX_get_error_depth(store);
        if (X509* cert = X509_STORE_CTX_get_current_cert(store); cert != nullptr) {
            failure->subject = name_text(X509_get_subject_name(cert));
            failure->not_before = time_text(X509_get0_notBefore(cert));
            failure->not_after = time_text(X509_get0_notAfter(cert));
            failure->names = subject_alt_names(cert);
        }
    }
    return preverify_ok;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string text;
    for (const std::string& part : parts) {
        if (!text.empty()) {
            text += separator;
        }
        text += part;
    }
    return text;
}

}  // namespace

std::string normalize_peer_name(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    // Go strips one trailing dot ("example.com." is the same name as "example.com").
    if (!host.empty() && host.back() == '.') {
        host.remove_suffix(1);
    }
    return std::string(host);
}

bool is_ip_literal(std::string_view host) {
    const std::string text(host);
    std::array<unsigned char, 16> buffer{};
    return inet_pton(AF_INET, text.c_str(), buffer.data()) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1;
}

TlsSession::TlsSession(TlsSession&&) noexcept = default;
TlsSession& TlsSession::operator=(TlsSession&&) noexcept = default;
TlsSession::~TlsSession() = default;

Result<void> TlsSession::attach(SSL_CTX* ctx) {
    ERR_clear_error();
    ssl_.reset(SSL_new(ctx));
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    if (!ssl_ || in == nullptr || out == nullptr) {
        BIO_free(in);
        BIO_free(out);
        return unexpected("tls: unable to create a session: " + drain_openssl_errors());
    }
    // An empty input BIO means "no bytes yet" (retry), not end of stream, until feed_eof().
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl_.get(), in, out);  // ssl_ owns both from here on.
    network_in_ = in;
    network_out_ = out;
    verify_failure_ = std::make_unique<VerifyFailure>();
    if (SSL_set_ex_data(ssl_.get(), verify_failure_index(), verify_failure_.get()) != 1) {
        return unexpected("tls: unable to create a session: " + drain_openssl_errors());
    }
    SSL_set_verify(ssl_.get(), SSL_CTX_get_verify_mode(ctx), on_verify);
    return {};
}

Result<TlsSession> TlsSession::client(std::shared_ptr<const TlsClientContext> context,
                                      std::string_view target_host) {
    TlsSession session;
    session.is_client_ = true;
    if (auto ok = session.attach(context->native()); !ok) {
        return Error{ok.error()};
    }
    session.peer_name_ = normalize_peer_name(
        context->server_name().empty() ? target_host : std::string_view(context->server_name()));
    SSL* ssl = session.ssl_.get();
    SSL_set_connect_state(ssl);
    const bool ip = is_ip_literal(session.peer_name_);
    ERR_clear_error();
    // Go sends no SNI for IP literals (RFC 6066 forbids them) and none when the name is empty.
    if (!ip && !session.peer_name_.empty() &&
        SSL_set_tlsext_host_name(ssl, session.peer_name_.c_str()) != 1) {
        return unexpected("tls: unable to set SNI \"" + session.peer_name_ +
                          "\": " + drain_openssl_errors());
    }
    if (!context->insecure_skip_verify()) {
        if (session.peer_name_.empty()) {
            return unexpected(
                "tls: either server_name or insecure_skip_verify must be set when the target "
                "has no host name");
        }
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        // As Go: no partial wildcards ("f*.example.com"), and never the subject CN instead of
        // the SANs (Go stopped that fallback in 1.15).
        X509_VERIFY_PARAM_set_hostflags(
            param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
        const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, session.peer_name_.c_str())
                           : SSL_set1_host(ssl, session.peer_name_.c_str());
        if (set != 1) {
            return unexpected("tls: unable to verify the name \"" + session.peer_name_ +
                              "\": " + drain_openssl_errors());
        }
    }
    session.context_ = std::move(context);
    return session;
}

Result<TlsSession> TlsSession::server(std::shared_ptr<const TlsServerContext> context) {
    TlsSession session;
    if (auto ok = session.attach(context->native()); !ok) {
        return Error{ok.error()};
    }
    SSL_set_accept_state(session.ssl_.get());
    session.context_ = std::move(context);
    return session;
}

void TlsSession::feed(std::string_view ciphertext) {
    if (ciphertext.empty() || network_in_ == nullptr) {
        return;
    }
    // A memory BIO grows as needed; it fails only when memory is exhausted (then we crash).
    const int written =
        BIO_write(network_in_, ciphertext.data(), static_cast<int>(ciphertext.size()));
    (void)written;
}

void TlsSession::feed_eof() {
    if (network_in_ != nullptr) {
        eof_fed_ = true;
        // From now on an empty input means end of stream, which OpenSSL reports as such.
        BIO_set_mem_eof_return(network_in_, 0);
    }
}

bool TlsSession::has_output() const {
    return network_out_ != nullptr && BIO_ctrl_pending(network_out_) > 0;
}

std::string TlsSession::take_output() {
    std::string out;
    if (network_out_ == nullptr) {
        return out;
    }
    const std::size_t pending = BIO_ctrl_pending(network_out_);
    out.resize(pending);
    if (pending > 0) {
        const int n = BIO_read(network_out_, out.data(), static_cast<int>(pending));
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    return out;
}

void TlsSession::fail(std::string message) {
    if (error_.empty()) {
        error_ = std::move(message);
    }
}

bool TlsSession::verification_enabled() const {
    return ssl_ && (SSL_get_verify_mode(ssl_.get()) & SSL_VERIFY_PEER) != 0;
}

std::string TlsSession::versions_text() const {
    SSL* ssl = ssl_.get();
    const long min_version = SSL_get_min_proto_version(ssl);
    const long max_version = SSL_get_max_proto_version(ssl);
    const std::string low =
        min_version == 0 ? "TLS 1.0" : tls_version_name(static_cast<int>(min_version));
    const std::string high =
        max_version == 0 ? "TLS 1.3" : tls_version_name(static_cast<int>(max_version));
    return low == high ? low : low + " to " + high;
}

HandshakeState TlsSession::step() {
    if (state_ != HandshakeState::InProgress || !ssl_) {
        return state_;
    }
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) {
        state_ = HandshakeState::Done;
        (void)drain_openssl_errors();
        return state_;
    }
    // SSL_get_error reads the error queue, so it must run before anything drains it.
    const int ssl_error = SSL_get_error(ssl_.get(), rc);
    if ((ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) && !eof_fed_) {
        (void)drain_openssl_errors();
        return state_;
    }
    state_ = HandshakeState::Failed;
    fail(describe_handshake_failure(ssl_error));
    return state_;
}

std::string TlsSession::describe_handshake_failure(int ssl_error) {
    const int reason = peek_openssl_reason();
    const std::string queue = drain_openssl_errors();
    const auto with_queue = [&queue](std::string message) {
        if (!queue.empty()) {
            message += " (" + queue + ")";
        }
        return message;
    };

    // Verification failures first: the queue only says "certificate verify failed", while the
    // verify callback knows which certificate and why.
    const VerifyFailure& failure = *verify_failure_;
    if (failure.recorded) {
        std::string message = "certificate verify failed: ";
        message += X509_verify_cert_error_string(failure.error);
        if (failure.error == X509_V_ERR_HOSTNAME_MISMATCH ||
            failure.error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            // The same shape as Go's "x509: certificate is valid for a, b, not c".
            message += failure.names.empty()
                           ? ": certificate has no DNS or IP subject alternative names, wanted \"" +
                                 peer_name_ + "\""
                           : ": certificate is valid for " + join(failure.names, ", ") + ", not " +
                                 peer_name_;
            return message;
        }
        message +=
            " (depth " + std::to_string(failure.depth) + ", subject \"" + failure.subject + "\"";
        if (failure.error == X509_V_ERR_CERT_HAS_EXPIRED) {
            message += ", expired at " + failure.not_after;
        } else if (failure.error == X509_V_ERR_CERT_NOT_YET_VALID) {
            message += ", valid from " + failure.not_before;
        }
        message += ")";
        return message;
    }
    if (verification_enabled()) {
        const long result = SSL_get_verify_result(ssl_.get());
        if (result != X509_V_OK) {
            return with_queue(std::string("certificate verify failed: ") +
                              X509_verify_cert_error_string(result));
        }
    }

    switch (reason) {
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
            return with_queue("tls: handshake failure, peer does not support " + versions_text());
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
        case SSL_R_HTTP_REQUEST:
            return with_queue(
                "tls: handshake failure, the peer does not speak TLS (a plaintext service on "
                "this port?)");
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
            return with_queue("tls: handshake failure, peer requires a client certificate");
        case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
            return with_queue(
                "tls: handshake failure, peer rejected the handshake (no cipher suite or "
                "signature algorithm in common, or a client certificate required)");
        case SSL_R_NO_SHARED_CIPHER:
            return with_queue("tls: handshake failure, no cipher suite in common");
        default:
            break;
    }
    if (eof_fed_ && (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN ||
                     reason == SSL_R_UNEXPECTED_EOF_WHILE_READING || queue.empty())) {
        return with_queue("tls: handshake failure, connection closed by peer during the handshake");
    }
    if (queue.empty()) {
        return "tls: handshake failure (SSL_get_error " + std::to_string(ssl_error) + ")";
    }
    return "tls: handshake failure: " + queue;
}

Result<void> TlsSession::flush_pending() {
    while (!pending_plaintext_.empty()) {
        ERR_clear_error();
        const int chunk =
            static_cast<int>(std::min<std::size_t>(pending_plaintext_.size(), INT_MAX));
        const int n = SSL_write(ssl_.get(), pending_plaintext_.data(), chunk);
        if (n > 0) {
            pending_plaintext_.erase(0, static_cast<std::size_t>(n));
            continue;
        }
        const int ssl_error = SSL_get_error(ssl_.get(), n);
        if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
            // Kept for the next read(), which is when the peer's bytes that OpenSSL waits for
            // have arrived.
            (void)drain_openssl_errors();
            return {};
        }
        const std::string queue = drain_openssl_errors();
        fail(ssl_error == SSL_ERROR_ZERO_RETURN
                 ? "tls: write after the peer closed the stream"
                 : "tls: write failed" + (queue.empty() ? "" : ": " + queue));
        return unexpected(error_);
    }
    return {};
}

Result<void> TlsSession::write(std::string_view plaintext) {
    if (state_ != HandshakeState::Done) {
        return unexpected(state_ == HandshakeState::Failed ? error_
                                                           : "tls: write before the handshake");
    }
    if (!error_.empty()) {
        return unexpected(error_);
    }
    pending_plaintext_.append(plaintext);
    return flush_pending();
}

ReadStatus TlsSession::read(std::string& out) {
    if (state_ == HandshakeState::InProgress) {
        return ReadStatus::Open;
    }
    if (state_ == HandshakeState::Failed || read_failed_) {
        return ReadStatus::Failed;
    }
    // Uninitialised on purpose: SSL_read only hands back bytes it wrote, and zeroing 16 KiB on
    // every read was a measurable part of a probe.
    std::array<char, 16384> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    for (;;) {
        ERR_clear_error();
        const int n = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(buffer.size()));
        if (n > 0) {
            out.append(buffer.data(), static_cast<std::size_t>(n));
            continue;
        }
        const int ssl_error = SSL_get_error(ssl_.get(), n);
        if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
            (void)drain_openssl_errors();
            if (auto ok = flush_pending(); !ok) {
                read_failed_ = true;
                return ReadStatus::Failed;
            }
            return ReadStatus::Open;
        }
        if (ssl_error == SSL_ERROR_ZERO_RETURN) {
            (void)drain_openssl_errors();
            return ReadStatus::Closed;
        }
        const std::string queue = drain_openssl_errors();
        read_failed_ = true;
        fail(queue.empty() ? "tls: read failed (SSL_get_error " + std::to_string(ssl_error) + ")"
                           : "tls: read failed: " + queue);
        return ReadStatus::Failed;
    }
}

void TlsSession::shutdown() {
    if (!ssl_ || state_ != HandshakeState::Done || read_failed_ ||
        (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN) != 0) {
        return;
    }
    ERR_clear_error();
    // 0 means "sent, the peer's close_notify not seen yet", which is all a prober needs.
    (void)SSL_shutdown(ssl_.get());
    (void)drain_openssl_errors();
}

std::vector<const X509*> TlsSession::peer_chain() const {
    std::vector<const X509*> chain;
    if (!ssl_) {
        return chain;
    }
    // A client's SSL_get_peer_cert_chain starts with the leaf; a server's omits it.
    if (!is_client_) {
        if (const X509* leaf = SSL_get0_peer_certificate(ssl_.get()); leaf != nullptr) {
            chain.push_back(leaf);
        }
    }
    if (STACK_OF(X509)* certs = SSL_get_peer_cert_chain(ssl_.get()); certs != nullptr) {
        for (int i = 0; i < sk_X509_num(certs); ++i) {
            chain.push_back(sk_X509_value(certs, i));
        }
    }
    return chain;
}

std::vector<const X509*> TlsSession::verified_chain() const {
    std::vector<const X509*> chain;
    // OpenSSL keeps the chain it built even when verification was off or failed; Go has no
    // VerifiedChains then, and the exporter's metrics depend on that difference.
    if (!ssl_ || state_ != HandshakeState::Done || !verification_enabled() ||
        SSL_get_verify_result(ssl_.get()) != X509_V_OK) {
        return chain;
    }
    if (STACK_OF(X509)* certs = SSL_get0_verified_chain(ssl_.get()); certs != nullptr) {
        for (int i = 0; i < sk_X509_num(certs); ++i) {
            chain.push_back(sk_X509_value(certs, i));
        }
    }
    return chain;
}

std::string TlsSession::version() const {
    if (!ssl_ || state_ != HandshakeState::Done) {
        return "unknown";
    }
    return tls_version_name(SSL_version(ssl_.get()));
}

void TlsSession::request_ocsp_status() {
    if (ssl_ && is_client_) {
        (void)SSL_set_tlsext_status_type(ssl_.get(), TLSEXT_STATUSTYPE_ocsp);
    }
}

std::string TlsSession::stapled_ocsp_response() const {
    if (!ssl_ || state_ != HandshakeState::Done) {
        return {};
    }
    const unsigned char* der = nullptr;
    const long length = SSL_get_tlsext_status_ocsp_resp(ssl_.get(), &der);
    if (der == nullptr || length <= 0) {
        return {};
    }
    return {reinterpret_cast<const char*>(der), static_cast<std::size_t>(length)};
}

X509_STORE* TlsSession::trust_store() const {
    if (!verification_enabled()) {
        return nullptr;
    }
    return SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl_.get()));
}

std::string TlsSession::requested_server_name() const {
    const char* name = ssl_ ? SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name) : nullptr;
    return name == nullptr ? std::string() : std::string(name);
}

std::string TlsSession::cipher() const {
    if (!ssl_ || state_ != HandshakeState::Done) {
        return {};
    }
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
    const char* name = cipher == nullptr ? nullptr : SSL_CIPHER_standard_name(cipher);
    return name == nullptr ? std::string() : std::string(name);
}

Result<void> TlsSession::offer_alpn(const std::vector<std::string>& protocols) {
    // The wire form: each name preceded by its length in one byte.
    std::string wire;
    for (const auto& protocol : protocols) {
        if (protocol.empty() || protocol.size() > 255) {
            return unexpected("ALPN protocol name of invalid length: \"" + protocol + "\"");
        }
        wire.push_back(static_cast<char>(protocol.size()));
        wire += protocol;
    }
    // SSL_set_alpn_protos returns 0 on success, unlike the rest of OpenSSL.
    if (!ssl_ ||
        SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size())) != 0) {
        return unexpected("cannot offer ALPN protocols");
    }
    return {};
}

std::string TlsSession::alpn() const {
    if (!ssl_) {
        return {};
    }
    const unsigned char* data = nullptr;
    unsigned int size = 0;
    SSL_get0_alpn_selected(ssl_.get(), &data, &size);
    return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace sonde::net

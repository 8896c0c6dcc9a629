#pragma once

// TlsSession: one TLS connection driven purely by bytes, over OpenSSL memory BIOs. It has no
// socket and no libuv in it; its owner moves the bytes.
//
// Ownership: the owner (a probe session, a test, a loopback server) owns the TlsSession by value
// or unique_ptr and owns the transport. The session holds a reference to its context, so the
// context may be dropped first. Destroying a session in any state (mid-handshake included) is
// safe and sends nothing; call shutdown() first for a polite close_notify. A moved-from session
// may only be destroyed or assigned to.
//
// Threading: no locks; use a session from one thread (the loop's). OpenSSL's error queue is
// per thread; every method clears it before its TLS step and drains it afterwards.
//
// Calling contract (the session never calls back, so re-entrancy cannot happen):
//   1. feed(bytes) with every chunk received from the network, in order; feed_eof() once the
//      transport's read side ended.
//   2. Call step() once to start (a client's first step() produces its ClientHello), then again
//      after each feed while handshake_state() is InProgress. step() never blocks: it returns
//      InProgress when it needs more bytes from the peer.
//   3. After EVERY call (step, write, read, shutdown), send take_output() to the network if it is
//      not empty. The session produces ciphertext at any of these points (handshake flights,
//      records, alerts, close_notify, TLS 1.3 session tickets and key updates).
//   4. Once Done: write(plaintext) and read(out) as the application needs; read appends all
//      plaintext that the fed ciphertext holds and says whether more may come.
//   5. Failures are values: step() returns Failed, read() returns ReadStatus::Failed, write()
//      returns an error, and error() keeps the first failure's text for a person to act on,
//      e.g. "certificate verify failed: certificate has expired (...)". Failure is final.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "prober/core/result.hpp"
#include "prober/net/tls_context.hpp"
#include "prober/net/tls_ptr.hpp"

namespace sonde::net {

enum class HandshakeState { InProgress, Done, Failed };

enum class ReadStatus {
    Open,    // Everything available was read; more may come.
    Closed,  // The peer ended the stream (close_notify, or EOF at a record boundary as in Go).
    Failed,  // A TLS error; see error().
};

class TlsSession {
public:
    // A client session for a probe of `target_host` (a name or an IP literal, IPv6 with or
    // without brackets). The name checked against the certificate and sent as SNI is the
    // context's server_name, else target_host. IP literals are sent without SNI (as Go does) and
    // verified against the certificate's IP SANs. With insecure_skip_verify nothing is verified.
    // Fails when the name is empty and verification is on (Go: "either ServerName or
    // InsecureSkipVerify must be specified").
    [[nodiscard]] static Result<TlsSession> client(std::shared_ptr<const TlsClientContext> context,
                                                   std::string_view target_host);
    // A server session, for tests and loopback servers.
    [[nodiscard]] static Result<TlsSession> server(std::shared_ptr<const TlsServerContext> context);

    TlsSession(TlsSession&&) noexcept;
    TlsSession& operator=(TlsSession&&) noexcept;
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;
    ~TlsSession();

    // Client side, before the first step(): the protocols offered by ALPN, most preferred
    // first ("h2", "http/1.1"). Without a call, no ALPN extension is sent.
    [[nodiscard]] Result<void> offer_alpn(const std::vector<std::string>& protocols);
    // The protocol the server selected by ALPN; "" when none (valid once Done).
    std::string alpn() const;
    // Client, before the first step(): ask the server to staple its certificate's OCSP status
    // (the status_request extension).
    void request_ocsp_status();
    // The DER OCSP response the server stapled, once Done ("" when none was sent).
    std::string stapled_ocsp_response() const;
    // The roots the peer was verified against; null when verification is off.
    X509_STORE* trust_store() const;

    // Network side.
    void feed(std::string_view ciphertext);
    void feed_eof();
    bool has_output() const;
    // Removes and returns the ciphertext waiting to be sent ("" when none).
    std::string take_output();

    // Handshake: advances as far as the fed bytes allow.
    HandshakeState step();
    HandshakeState handshake_state() const { return state_; }
    // The first failure's text ("" while nothing failed).
    const std::string& error() const { return error_; }

    // Application side, once the handshake is Done. write() encrypts everything it is given.
    [[nodiscard]] Result<void> write(std::string_view plaintext);
    // Appends the available plaintext to `out`.
    ReadStatus read(std::string& out);
    // Queues close_notify (take_output() then holds it). Idempotent.
    void shutdown();

    // Handshake facts, valid once Done (empty/"unknown" before).
    // The certificates the peer presented, leaf first, in the order sent (Go's PeerCertificates).
    std::vector<const X509*> peer_chain() const;
    // The chain OpenSSL verified, leaf to trust anchor (Go's VerifiedChains[0]). Empty when
    // verification was off (insecure_skip_verify, or a server not asking for client certs).
    std::vector<const X509*> verified_chain() const;
    // "TLS 1.2", "TLS 1.3", ... as the exporter names them; "unknown" before the handshake.
    std::string version() const;
    // The IANA name of the negotiated cipher suite, e.g. "TLS_AES_128_GCM_SHA256".
    std::string cipher() const;
    // The name verified and sent as SNI (client side; "" on a server).
    const std::string& peer_name() const { return peer_name_; }
    bool is_client() const { return is_client_; }
    // Server side: the SNI name the client sent ("" when none).
    std::string requested_server_name() const;

    // What the verify callback learnt about the first certificate that failed verification;
    // kept out of line (heap) so that OpenSSL's pointer to it survives moves of the session.
    struct VerifyFailure;

private:
    TlsSession() = default;
    Result<void> attach(SSL_CTX* ctx);
    std::string describe_handshake_failure(int ssl_error);
    void fail(std::string message);
    bool verification_enabled() const;
    std::string versions_text() const;
    // Retries plaintext that SSL_write could not take yet.
    Result<void> flush_pending();

    std::shared_ptr<const void> context_;  // keeps the module's context alive
    SslPtr ssl_;
    BIO* network_in_ = nullptr;   // owned by ssl_: ciphertext from the peer
    BIO* network_out_ = nullptr;  // owned by ssl_: ciphertext for the peer
    std::unique_ptr<VerifyFailure> verify_failure_;
    HandshakeState state_ = HandshakeState::InProgress;
    std::string error_;
    std::string pending_plaintext_;
    std::string peer_name_;
    bool is_client_ = false;
    bool read_failed_ = false;
    bool eof_fed_ = false;
};

// The peer name as Go treats it for SNI and verification: brackets and a trailing dot removed.
std::string normalize_peer_name(std::string_view host);
// True for an IPv4 or IPv6 literal (after normalize_peer_name).
bool is_ip_literal(std::string_view host);

}  // namespace sonde::net

#pragma once

// The web configuration file (--web.config.file), in the Prometheus exporter-toolkit format:
// TLS for sonde's own endpoints (tls_server_config), basic authentication with bcrypt hashes
// (basic_auth_users) and extra response headers (http_server_config.headers).
//
// Decoding is strict, as for the main config: unknown keys, bad values and hashes that are not
// bcrypt are errors naming file, line and column. Secrets (the key, the password hashes) never
// appear in an error. Certificate files are only named here; reading them is the TLS layer's
// job (prober/net/web_tls.hpp), so that a rotated certificate is read again.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/result.hpp"

namespace sonde::config {

// Go's tls.ClientAuthType, under the names exporter-toolkit accepts.
enum class ClientAuthType {
    NoClientCert,
    RequestClientCert,     // asks for a certificate, accepts none or any
    RequireAnyClientCert,  // requires a certificate, does not verify it
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
};

struct WebTlsConfig {
    // Inline PEM or a file each; relative file names are taken from the web config's directory.
    std::string cert;
    Secret key;
    std::string client_ca;
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;
    ClientAuthType client_auth = ClientAuthType::NoClientCert;
    // OpenSSL names of the TLS 1.2 suites listed (Go's names in the file). TLS 1.3 suites may
    // be listed but, as in Go, do not restrict TLS 1.3.
    std::vector<std::string> cipher_suites;
    // OpenSSL group names ("P-256", "X25519"), in preference order.
    std::vector<std::string> curve_preferences;
    TlsVersion min_version = TlsVersion::Tls12;
    TlsVersion max_version = TlsVersion::Tls13;
    bool prefer_server_cipher_suites = true;
};

struct WebConfig {
    std::string source;  // the file's path
    // True when any certificate, key, client CA or client_auth_type is set (exporter-toolkit's
    // TLSConfig.IsEnabled); then both a certificate and a key are present.
    bool tls_enabled = false;
    WebTlsConfig tls;
    bool http2 = true;  // accepted for compatibility; sonde speaks HTTP/1.1 only
    // Added to every response, as written (only the five names exporter-toolkit allows).
    std::vector<std::pair<std::string, std::string>> headers;
    // User name -> bcrypt hash. Empty: no authentication.
    std::map<std::string, Secret> basic_auth_users;
};

[[nodiscard]] Result<WebConfig> load_web_config_file(const std::string& path);
// base_dir: where relative file names point (the file's directory; "" = as written).
[[nodiscard]] Result<WebConfig> load_web_config_text(std::string_view text,
                                                     const std::string& source,
                                                     const std::string& base_dir);

// True for a bcrypt hash crypt(3) can check: $2a$, $2b$ or $2y$, a two-digit cost from 04 to
// 31, then 53 characters of bcrypt's base64 (22 of salt, 31 of hash).
bool is_bcrypt_hash(std::string_view hash);

}  // namespace sonde::config

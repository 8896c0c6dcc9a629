#include "config/web_config.hpp"

#include <yaml-cpp/yaml.h>

#include "config/file_text.hpp"
#include "config/yaml_decode.hpp"

namespace sonde::config {
namespace {

using detail::as_bool;
using detail::as_secret;
using detail::as_string;
using detail::decode_fields;
using detail::fail;
using detail::for_each_item;

// prometheus/common's JoinDir: relative names are taken from the config file's directory.
std::string join_dir(const std::string& dir, const std::string& path) {
    if (path.empty() || path.front() == '/' || dir.empty()) {
        return path;
    }
    return dir + "/" + path;
}

TlsVersion as_web_tls_version(const YAML::Node& node) {
    const std::string name = as_string(node);
    static const std::pair<const char*, TlsVersion> kVersions[] = {{"TLS10", TlsVersion::Tls10},
                                                                   {"TLS11", TlsVersion::Tls11},
                                                                   {"TLS12", TlsVersion::Tls12},
                                                                   {"TLS13", TlsVersion::Tls13}};
    for (const auto& [text, version] : kVersions) {
        if (name == text) {
            return version;
        }
    }
    fail(node.Mark(), "unknown TLS version: " + name);
}

ClientAuthType as_client_auth(const YAML::Node& node) {
    const std::string name = as_string(node);
    if (name.empty() || name == "NoClientCert") {
        return ClientAuthType::NoClientCert;
    }
    if (name == "RequestClientCert") {
        return ClientAuthType::RequestClientCert;
    }
    // "RequireClientCert" is the old name exporter-toolkit still accepts.
    if (name == "RequireAnyClientCert" || name == "RequireClientCert") {
        return ClientAuthType::RequireAnyClientCert;
    }
    if (name == "VerifyClientCertIfGiven") {
        return ClientAuthType::VerifyClientCertIfGiven;
    }
    if (name == "RequireAndVerifyClientCert") {
        return ClientAuthType::RequireAndVerifyClientCert;
    }
    fail(node.Mark(), "invalid ClientAuth: " + name);
}

// Go's tls.CipherSuites(), by Go name, with OpenSSL's name; "" for the TLS 1.3 suites, which Go
// accepts in the list but does not let a config restrict.
const std::pair<const char*, const char*> kCipherSuites[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
};

// exporter-toolkit's curve names, with OpenSSL's group names.
const std::pair<const char*, const char*> kCurves[] = {
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
    {"X25519", "X25519"},
};

// The headers exporter-toolkit lets a config set, with their allowed values (none: any).
struct AllowedHeader {
    const char* name;
    std::vector<std::string> values;
};
const AllowedHeader kHeaders[] = {
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
};

std::string quoted_list(const std::vector<std::string>& values) {
    std::string out = "[";
    for (const auto& value : values) {
        out += (out.size() > 1 ? " \"" : "\"") + value + "\"";
    }
    return out + "]";
}

void decode_tls(const YAML::Node& node, WebTlsConfig& out, bool& enabled, const std::string& dir) {
    YAML::Mark client_ca_mark;
    YAML::Mark versions_mark;
    const auto fields = decode_fields(
        node, "tls_server_config", [&](const std::string& key, const YAML::Node& value) {
            if (key == "cert") {
                out.cert = as_string(value);
            } else if (key == "key") {
                out.key = as_secret(value);
            } else if (key == "client_ca") {
                out.client_ca = as_string(value);
                client_ca_mark = value.Mark();
            } else if (key == "cert_file") {
                out.cert_file = join_dir(dir, as_string(value));
            } else if (key == "key_file") {
                out.key_file = join_dir(dir, as_string(value));
            } else if (key == "client_ca_file") {
                out.client_ca_file = join_dir(dir, as_string(value));
                client_ca_mark = value.Mark();
            } else if (key == "client_auth_type") {
                out.client_auth = as_client_auth(value);
                enabled = enabled || !as_string(value).empty();
            } else if (key == "cipher_suites") {
                for_each_item(value, "cipher_suites", [&](const YAML::Node& item) {
                    const std::string name = as_string(item);
                    for (const auto& [go, openssl] : kCipherSuites) {
                        if (name == go) {
                            if (*openssl != '\0') {
                                out.cipher_suites.emplace_back(openssl);
                            }
                            return;
                        }
                    }
                    fail(item.Mark(), "unknown cipher: " + name);
                });
            } else if (key == "curve_preferences") {
                for_each_item(value, "curve_preferences", [&](const YAML::Node& item) {
                    const std::string name = as_string(item);
                    for (const auto& [go, openssl] : kCurves) {
                        if (name == go) {
                            out.curve_preferences.emplace_back(openssl);
                            return;
                        }
                    }
                    fail(item.Mark(), "unknown curve: " + name);
                });
            } else if (key == "min_version") {
                out.min_version = as_web_tls_version(value);
                versions_mark = value.Mark();
            } else if (key == "max_version") {
                out.max_version = as_web_tls_version(value);
                versions_mark = value.Mark();
            } else if (key == "prefer_server_cipher_suites") {
                out.prefer_server_cipher_suites = as_bool(value);
            } else if (key == "client_allowed_sans") {
                fail(value.Mark(), "client_allowed_sans is not supported by sonde yet");
            } else {
                return false;
            }
            return true;
        });
    enabled = enabled || !out.cert.empty() || !out.key.empty() || !out.client_ca.empty() ||
              !out.cert_file.empty() || !out.key_file.empty() || !out.client_ca_file.empty();
    if (!enabled) {
        return;
    }
    if (out.cert.empty() && out.cert_file.empty()) {
        fail(fields.block(), "missing one of cert or cert_file");
    }
    if (out.key.empty() && out.key_file.empty()) {
        fail(fields.block(), "missing one of key or key_file");
    }
    if (!out.cert.empty() && !out.cert_file.empty()) {
        fail(fields.mark("cert"), "at most one of cert and cert_file must be configured");
    }
    if (!out.key.empty() && !out.key_file.empty()) {
        fail(fields.mark("key"), "at most one of key and key_file must be configured");
    }
    if (!out.client_ca.empty() && !out.client_ca_file.empty()) {
        fail(fields.mark("client_ca"),
             "at most one of client_ca and client_ca_file must be configured");
    }
    const bool has_ca = !out.client_ca.empty() || !out.client_ca_file.empty();
    if (has_ca && out.client_auth == ClientAuthType::NoClientCert) {
        fail(client_ca_mark, "client CA's have been configured without a Client Auth Policy");
    }
    if (static_cast<int>(out.min_version) > static_cast<int>(out.max_version)) {
        fail(versions_mark, "min_version is greater than max_version");
    }
}

void decode_http(const YAML::Node& node, WebConfig& out) {
    (void)decode_fields(
        node, "http_server_config", [&](const std::string& key, const YAML::Node& value) {
            if (key == "http2") {
                out.http2 = as_bool(value);
            } else if (key == "headers") {
                (void)decode_fields(
                    value, "headers", [&](const std::string& name, const YAML::Node& header) {
                        for (const AllowedHeader& allowed : kHeaders) {
                            if (name != allowed.name) {
                                continue;
                            }
                            const std::string text = as_string(header);
                            bool ok = allowed.values.empty();
                            for (const auto& candidate : allowed.values) {
                                ok = ok || text == candidate;
                            }
                            if (!ok) {
                                fail(header.Mark(),
                                     "invalid value for " + name +
                                         ". Expected one of: " + quoted_list(allowed.values) +
                                         ", but got: \"" + text + "\"");
                            }
                            if (!text.empty()) {  // blank means unset
                                out.headers.emplace_back(name, text);
                            }
                            return true;
                        }
                        fail(value.Mark(), "HTTP header \"" + name + "\" can not be configured");
                    });
            } else {
                return false;
            }
            return true;
        });
}

void decode_users(const YAML::Node& node, WebConfig& out) {
    (void)decode_fields(node, "basic_auth_users",
                        [&](const std::string& user, const YAML::Node& value) {
                            Secret hash = as_secret(value);
                            if (!is_bcrypt_hash(hash.value)) {
                                // The hash itself stays out of the message: it is a secret.
                                fail(value.Mark(), "the password of user \"" + user +
                                                       "\" is not a bcrypt hash ($2a$, $2b$ or "
                                                       "$2y$, cost 04 to 31, 60 characters)");
                            }
                            out.basic_auth_users.emplace(user, std::move(hash));
                            return true;
                        });
}

bool is_bcrypt_base64(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
}

}  // namespace

bool is_bcrypt_hash(std::string_view hash) {
    if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
        return false;
    }
    if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') {
        return false;
    }
    if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') {
        return false;
    }
    const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < 4 || cost > 31) {
        return false;
    }
    for (std::size_t i = 7; i < hash.size(); ++i) {
        if (!is_bcrypt_base64(hash[i])) {
            return false;
        }
    }
    return true;
}

Result<WebConfig> load_web_config_text(std::string_view text, const std::string& source,
                                       const std::string& base_dir) {
    WebConfig config;
    config.source = source;
    try {
        const YAML::Node root = YAML::Load(std::string(text));
        (void)decode_fields(root, "web config",
                            [&](const std::string& key, const YAML::Node& value) {
                                if (key == "tls_server_config") {
                                    decode_tls(value, config.tls, config.tls_enabled, base_dir);
                                } else if (key == "http_server_config") {
                                    decode_http(value, config);
                                } else if (key == "basic_auth_users") {
                                    decode_users(value, config);
                                } else if (key == "rate_limit") {
                                    fail(value.Mark(), "rate_limit is not supported by sonde yet");
                                } else {
                                    return false;
                                }
                                return true;
                            });
    } catch (const detail::DecodeError& error) {
        return unexpected(detail::position_prefix(source, error.mark) + error.detail);
    } catch (const YAML::Exception& error) {
        return unexpected(detail::position_prefix(source, error.mark) + error.msg);
    }
    return config;
}

Result<WebConfig> load_web_config_file(const std::string& path) {
    const FileText text = read_file_text(path);
    if (!text.ok) {
        return unexpected(path + ": cannot " + text.step + ": " + text.reason);
    }
    const auto slash = path.rfind('/');
    const std::string dir =
        slash == std::string::npos ? "" : path.substr(0, slash == 0 ? 1 : slash);
    return load_web_config_text(text.bytes, path, dir);
}

}  // namespace sonde::config

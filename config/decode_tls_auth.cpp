// tls_config and the HTTP authentication blocks (prometheus/common TLSConfig, BasicAuth,
// Authorization, OAuth2), with the checks their UnmarshalYAML/Validate make.

#include "config/decoders.hpp"

namespace sonde::config::detail {
namespace {

TlsVersion as_tls_version(const YAML::Node& node) {
    const std::string name = as_string(node);
    if (name == "TLS10") {
        return TlsVersion::Tls10;
    }
    if (name == "TLS11") {
        return TlsVersion::Tls11;
    }
    if (name == "TLS12") {
        return TlsVersion::Tls12;
    }
    if (name == "TLS13") {
        return TlsVersion::Tls13;
    }
    fail(node.Mark(), "unknown TLS version: " + name);
}

}  // namespace

void decode_tls_config(const YAML::Node& node, TlsConfig& out) {
    const Fields fields =
        decode_fields(node, "tls_config", [&](const std::string& key, const YAML::Node& value) {
            if (key == "ca") {
                out.ca = as_string(value);
            } else if (key == "ca_file") {
                out.ca_file = as_string(value);
            } else if (key == "cert") {
                out.cert = as_string(value);
            } else if (key == "cert_file") {
                out.cert_file = as_string(value);
            } else if (key == "key") {
                out.key = as_secret(value);
            } else if (key == "key_file") {
                out.key_file = as_string(value);
            } else if (key == "server_name") {
                out.server_name = as_string(value);
            } else if (key == "insecure_skip_verify") {
                out.insecure_skip_verify = as_bool(value);
            } else if (key == "min_version") {
                out.min_version = as_tls_version(value);
            } else if (key == "max_version") {
                out.max_version = as_tls_version(value);
            } else {
                return false;
            }
            return true;
        });
    if (is_null(node)) {
        return;
    }
    // TLSConfig.Validate, in its order.
    if (!out.ca.empty() && !out.ca_file.empty()) {
        fail(fields.mark("ca_file"), "at most one of ca, ca_file & ca_ref must be configured");
    }
    if (!out.cert.empty() && !out.cert_file.empty()) {
        fail(fields.mark("cert_file"),
             "at most one of cert, cert_file & cert_ref must be configured");
    }
    if (!out.key.empty() && !out.key_file.empty()) {
        fail(fields.mark("key_file"), "at most one of key and key_file must be configured");
    }
    const bool has_cert = !out.cert.empty() || !out.cert_file.empty();
    const bool has_key = !out.key.empty() || !out.key_file.empty();
    if (has_cert && !has_key) {
        fail(fields.mark(out.cert.empty() ? "cert_file" : "cert"),
             "exactly one of key or key_file must be configured when a client certificate is "
             "configured");
    }
    if (has_key && !has_cert) {
        fail(fields.mark(out.key.empty() ? "key_file" : "key"),
             "exactly one of cert or cert_file must be configured when a client key is "
             "configured");
    }
}

void decode_basic_auth(const YAML::Node& node, BasicAuth& out) {
    // The username/password exclusivity is checked by validate_http_client, in upstream's order.
    decode_fields(node, "basic_auth", [&](const std::string& key, const YAML::Node& value) {
        if (key == "username") {
            out.username = as_string(value);
        } else if (key == "username_file") {
            out.username_file = as_string(value);
        } else if (key == "password") {
            out.password = as_secret(value);
        } else if (key == "password_file") {
            out.password_file = as_string(value);
        } else {
            return false;
        }
        return true;
    });
}

void decode_authorization(const YAML::Node& node, Authorization& out) {
    decode_fields(node, "authorization", [&](const std::string& key, const YAML::Node& value) {
        if (key == "type") {
            out.type = as_string(value);
        } else if (key == "credentials") {
            out.credentials = as_secret(value);
        } else if (key == "credentials_file") {
            out.credentials_file = as_string(value);
        } else {
            return false;
        }
        return true;
    });
}

void decode_oauth2(const YAML::Node& node, OAuth2& out) {
    decode_fields(node, "oauth2", [&](const std::string& key, const YAML::Node& value) {
        if (key == "client_id") {
            out.client_id = as_string(value);
        } else if (key == "client_secret") {
            out.client_secret = as_secret(value);
        } else if (key == "client_secret_file") {
            out.client_secret_file = as_string(value);
        } else if (key == "scopes") {
            out.scopes = as_string_list(value);
        } else if (key == "token_url") {
            out.token_url = as_string(value);
        } else if (key == "endpoint_params") {
            decode_fields(value, "endpoint_params",
                          [&](const std::string& param, const YAML::Node& param_value) {
                              out.endpoint_params[param] = as_string(param_value);
                              return true;
                          });
        } else if (key == "tls_config") {
            decode_tls_config(value, out.tls_config);
        } else if (key == "proxy_url") {
            out.proxy_url = as_string(value);
        } else {
            return false;
        }
        return true;
    });
}

}  // namespace sonde::config::detail

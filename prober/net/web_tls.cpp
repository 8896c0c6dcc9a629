#include "prober/net/web_tls.hpp"

#include <string>

#include "config/file_text.hpp"

namespace sonde::net {
namespace {

Result<std::string> read_file(const std::string& path, const char* field) {
    config::FileText text = config::read_file_text(path);
    if (!text.ok) {
        return unexpected(std::string("failed to read ") + field + " (" + path +
                          "): " + text.reason);
    }
    return std::move(text.bytes);
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        out += (out.empty() ? "" : ":") + name;
    }
    return out;
}

}  // namespace

Result<std::shared_ptr<const TlsServerContext>> make_web_tls_context(
    const config::WebTlsConfig& config) {
    using config::ClientAuthType;
    std::string cert = config.cert;
    std::string key = config.key.value;
    TlsServerOptions options;
    if (!config.cert_file.empty()) {
        auto text = read_file(config.cert_file, "cert_file");
        if (!text) {
            return Error{text.error()};
        }
        cert = std::move(*text);
        options.cert_label = config.cert_file;
    }
    if (!config.key_file.empty()) {
        auto text = read_file(config.key_file, "key_file");
        if (!text) {
            return Error{text.error()};
        }
        key = std::move(*text);
        options.key_label = config.key_file;
    }
    if (!config.client_ca_file.empty()) {
        auto text = read_file(config.client_ca_file, "client_ca_file");
        if (!text) {
            return Error{text.error()};
        }
        options.client_ca_pem = std::move(*text);
    } else {
        options.client_ca_pem = config.client_ca;
    }
    switch (config.client_auth) {
        case ClientAuthType::NoClientCert:
            options.client_ca_pem.clear();  // the decoder refuses a CA here; never ask
            break;
        case ClientAuthType::RequestClientCert:
            options.accept_any_client_cert = true;
            break;
        case ClientAuthType::RequireAnyClientCert:
            options.accept_any_client_cert = true;
            options.require_client_cert = true;
            break;
        case ClientAuthType::VerifyClientCertIfGiven:
            options.verify_with_system_roots = true;
            break;
        case ClientAuthType::RequireAndVerifyClientCert:
            options.verify_with_system_roots = true;
            options.require_client_cert = true;
            break;
    }
    options.min_version = config.min_version;
    options.max_version = config.max_version;
    options.cipher_list = joined(config.cipher_suites);
    options.groups_list = joined(config.curve_preferences);
    options.prefer_server_ciphers = config.prefer_server_cipher_suites;
    return make_tls_server_context(cert, key, options);
}

}  // namespace sonde::net

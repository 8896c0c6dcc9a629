#include "modules/common/credentials.hpp"

#include "modules/common/base64.hpp"
#include "modules/common/file_source.hpp"
#include "modules/common/header_names.hpp"

namespace sonde::modules {
namespace {

Result<std::string> fetch_secret(const config::Secret& inline_value, const std::string& file) {
    if (!file.empty()) {
        auto value = read_trimmed_file(file);
        if (!value) {
            return unexpected("unable to read file " + file + ": " + value.error());
        }
        return value;
    }
    return inline_value.value;
}

}  // namespace

Result<std::optional<std::string>> authorization_header(const config::Authorization& auth) {
    auto credentials = fetch_secret(auth.credentials, auth.credentials_file);
    if (!credentials) {
        return unexpected("unable to read authorization credentials: " + credentials.error());
    }
    if (credentials->empty()) {
        return std::optional<std::string>{};
    }
    return std::optional<std::string>{auth.type + " " + *credentials};
}

Result<std::string> basic_auth_header(const config::BasicAuth& auth) {
    std::string username = auth.username;
    if (!auth.username_file.empty()) {
        auto value = fetch_secret({}, auth.username_file);
        if (!value) {
            return unexpected("unable to read basic auth username: " + value.error());
        }
        username = *value;
    }
    auto password = fetch_secret(auth.password, auth.password_file);
    if (!password) {
        return unexpected("unable to read basic auth password: " + password.error());
    }
    return "Basic " + base64_encode(username + ":" + *password);
}

Result<void> add_header_values(const std::map<std::string, config::HttpHeaderValues>& headers,
                               net::HttpHeaders& out) {
    for (const auto& [name, values] : headers) {
        const std::string key = canonical_header_key(name);
        for (const auto& value : values.values) {
            out.add(key, value);
        }
        for (const auto& secret : values.secrets) {
            out.add(key, secret.value);
        }
        for (const auto& file : values.files) {
            auto value = read_trimmed_file(file);
            if (!value) {
                return unexpected("unable to read headers file " + file + ": " + value.error());
            }
            out.add(key, *value);
        }
    }
    return {};
}

}  // namespace sonde::modules

#include "modules/http/request_builder.hpp"

#include <array>

#include "modules/http/file_source.hpp"
#include "modules/http/header_names.hpp"

namespace sonde::modules::http {
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

// Go's client turns URL userinfo into Basic credentials, percent-decoded.
std::string userinfo_credentials(const std::string& userinfo) {
    const auto colon = userinfo.find(':');
    const std::string user = userinfo.substr(0, colon);
    const std::string pass = colon == std::string::npos ? "" : userinfo.substr(colon + 1);
    auto decoded_user = net::path_unescape(user);
    auto decoded_pass = net::path_unescape(pass);
    return base64_encode((decoded_user ? *decoded_user : user) + ":" +
                         (decoded_pass ? *decoded_pass : pass));
}

Result<void> add_authorization(const config::HttpProbe& cfg, const HttpUrl& url,
                               net::HttpHeaders& headers) {
    const std::string* existing = headers.find("Authorization");
    if (existing != nullptr && !existing->empty()) {
        return {};
    }
    if (!url.userinfo.empty()) {
        headers.set("Authorization", "Basic " + userinfo_credentials(url.userinfo));
        return {};
    }
    if (cfg.authorization) {
        auto credentials =
            fetch_secret(cfg.authorization->credentials, cfg.authorization->credentials_file);
        if (!credentials) {
            return unexpected("unable to read authorization credentials: " + credentials.error());
        }
        if (!credentials->empty()) {
            headers.set("Authorization", cfg.authorization->type + " " + *credentials);
        }
        return {};
    }
    if (cfg.basic_auth) {
        std::string username = cfg.basic_auth->username;
        if (!cfg.basic_auth->username_file.empty()) {
            auto value = fetch_secret({}, cfg.basic_auth->username_file);
            if (!value) {
                return unexpected("unable to read basic auth username: " + value.error());
            }
            username = *value;
        }
        auto password = fetch_secret(cfg.basic_auth->password, cfg.basic_auth->password_file);
        if (!password) {
            return unexpected("unable to read basic auth password: " + password.error());
        }
        headers.set("Authorization", "Basic " + base64_encode(username + ":" + *password));
    }
    return {};
}

Result<void> add_http_headers(const config::HttpProbe& cfg, net::HttpHeaders& headers) {
    for (const auto& [name, values] : cfg.http_headers) {
        const std::string key = canonical_header_key(name);
        for (const auto& value : values.values) {
            headers.add(key, value);
        }
        for (const auto& secret : values.secrets) {
            headers.add(key, secret.value);
        }
        for (const auto& file : values.files) {
            auto value = read_trimmed_file(file);
            if (!value) {
                return unexpected("unable to read headers file " + file + ": " + value.error());
            }
            headers.add(key, *value);
        }
    }
    return {};
}

// Go sends Content-Length for a non-empty body, and "0" for an empty one only with the methods
// that are expected to carry a body.
bool sends_content_length(const std::string& method, const std::string& body) {
    return !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

std::string default_user_agent(std::string_view sonde_version) {
    return "Blackbox-Exporter/" + std::string(kBlackboxCompatVersion) + " (sonde " +
           std::string(sonde_version) + ")";
}

Result<std::string> load_request_body(const config::HttpProbe& cfg) {
    if (!cfg.body_file.empty()) {
        return read_whole_file(cfg.body_file);
    }
    return cfg.body;
}

net::HttpHeaders initial_headers(const HeaderList& headers, std::string_view user_agent) {
    net::HttpHeaders out;
    for (const auto& [name, value] : headers) {
        if (canonical_header_key(name) == "Host") {
            continue;
        }
        out.set(canonical_header_key(name), value);
    }
    if (const std::string* configured = out.find("User-Agent")) {
        if (configured->empty()) {
            out.remove("User-Agent");
        }
    } else {
        out.set("User-Agent", std::string(user_agent));
    }
    return out;
}

Result<OutgoingRequest> finish_request(const config::HttpProbe& cfg, HopInputs hop) {
    OutgoingRequest request;
    request.method = std::move(hop.method);
    request.url = std::move(hop.url);
    request.host_header = std::move(hop.host_header);
    request.headers = std::move(hop.headers);
    request.body = std::move(hop.body);

    if (auto auth = add_authorization(cfg, request.url, request.headers); !auth) {
        return unexpected(auth.error());
    }
    if (auto added = add_http_headers(cfg, request.headers); !added) {
        return unexpected(added.error());
    }
    if (!hop.referer.empty()) {
        request.headers.set("Referer", std::move(hop.referer));
    }
    if (!hop.cookie_header.empty()) {
        // Go's Request.AddCookie appends to a Cookie header that is already there.
        const std::string* existing = request.headers.find("Cookie");
        std::string value = existing != nullptr && !existing->empty()
                                ? *existing + "; " + hop.cookie_header
                                : hop.cookie_header;
        request.headers.set("Cookie", std::move(value));
    }
    if (sends_content_length(request.method, request.body)) {
        request.headers.set("Content-Length", std::to_string(request.body.size()));
    }
    // The exporter's client disables keep-alives; Go then asks the server to close.
    request.headers.set("Connection", "close");
    return request;
}

std::string OutgoingRequest::serialise() const {
    std::string out =
        method + " " + url.request_target() + " HTTP/1.1\r\nHost: " + host_header + "\r\n";
    for (const auto& field : headers.fields()) {
        out += field.name + ": " + field.value + "\r\n";
    }
    out += "\r\n";
    out += body;
    return out;
}

std::string base64_encode(std::string_view data) {
    static constexpr std::array<char, 64> kAlphabet = {
        'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
        'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b', 'c', 'd', 'e', 'f',
        'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v',
        'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '/'};
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const auto n = (static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16U) |
                       (static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8U) |
                       static_cast<unsigned>(static_cast<unsigned char>(data[i + 2]));
        out += kAlphabet[(n >> 18U) & 63U];
        out += kAlphabet[(n >> 12U) & 63U];
        out += kAlphabet[(n >> 6U) & 63U];
        out += kAlphabet[n & 63U];
    }
    const std::size_t rest = data.size() - i;
    if (rest > 0) {
        unsigned n = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16U;
        if (rest == 2) {
            n |= static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8U;
        }
        out += kAlphabet[(n >> 18U) & 63U];
        out += kAlphabet[(n >> 12U) & 63U];
        out += rest == 2 ? kAlphabet[(n >> 6U) & 63U] : '=';
        out += '=';
    }
    return out;
}

}  // namespace sonde::modules::http

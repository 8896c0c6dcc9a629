#include "modules/http/request_builder.hpp"

#include "modules/common/base64.hpp"
#include "modules/common/credentials.hpp"
#include "modules/common/file_source.hpp"
#include "modules/common/header_names.hpp"

namespace sonde::modules::http {
namespace {

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
        auto value = authorization_header(*cfg.authorization);
        if (!value) {
            return unexpected(value.error());
        }
        if (*value) {
            headers.set("Authorization", std::move(**value));
        }
        return {};
    }
    if (cfg.basic_auth) {
        auto value = basic_auth_header(*cfg.basic_auth);
        if (!value) {
            return unexpected(value.error());
        }
        headers.set("Authorization", std::move(*value));
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
    if (auto added = add_header_values(cfg.http_headers, request.headers); !added) {
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

}  // namespace sonde::modules::http

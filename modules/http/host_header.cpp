#include "modules/http/host_header.hpp"

#include "prober/net/http_request.hpp"

namespace sonde::modules::http {

Result<HeaderList> apply_hostname_param(const HeaderList& headers, std::string_view hostname) {
    if (hostname.empty()) {
        return headers;
    }
    HeaderList out;
    for (const auto& [name, value] : headers) {
        if (net::iequals(name, "Host")) {
            if (value != hostname) {
                return unexpected("host header defined both in module configuration (" + value +
                                  ") and with URL-parameter 'hostname' (" + std::string(hostname) +
                                  ")");
            }
            // The same value twice: keep one entry, the parameter's, as the exporter's map does.
            continue;
        }
        out.emplace_back(name, value);
    }
    out.emplace_back("Host", std::string(hostname));
    return out;
}

const std::string* configured_host(const HeaderList& headers) {
    const std::string* found = nullptr;
    for (const auto& [name, value] : headers) {
        if (net::iequals(name, "Host")) {
            found = &value;
        }
    }
    return found;
}

std::string strip_port(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close != std::string_view::npos) {
            return std::string(host.substr(1, close - 1));
        }
        return std::string(host);
    }
    const auto colon = host.find(':');
    if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
        return std::string(host.substr(0, colon));
    }
    return std::string(host);  // a name, or a bare IPv6 literal
}

HostNames choose_host_names(const config::TlsConfig& tls, const HeaderList& headers,
                            const HttpUrl& target) {
    HostNames names;
    const std::string* host = configured_host(headers);
    names.host_header = host != nullptr ? *host : target.authority();
    if (!tls.server_name.empty()) {
        names.server_name = tls.server_name;
    } else if (host != nullptr) {
        names.server_name = strip_port(*host);
    } else {
        names.server_name = target.host;
    }
    return names;
}

}  // namespace sonde::modules::http

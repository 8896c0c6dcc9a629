#include "modules/http/oauth2_token.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include <nlohmann/json.hpp>
#include <sys/socket.h>

#include "config/ascii.hpp"
#include "config/redact.hpp"
#include "modules/common/base64.hpp"
#include "modules/common/file_source.hpp"
#include "modules/http/request_builder.hpp"
#include "prober/net/http_request.hpp"

namespace sonde::modules::http {
namespace {

// x/oauth2 reads at most this much of the token endpoint's answer.
constexpr std::size_t kMaxTokenResponse = std::size_t{1} << 20;

// Go's url.QueryEscape.
std::string query_escape(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out += ch;
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0x0f];
        }
    }
    return out;
}

// Go's url.QueryUnescape; nullopt on a bad escape.
std::optional<std::string> query_unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%') {
            if (i + 2 >= text.size()) {
                return std::nullopt;
            }
            const int hi = config::ascii_hex_value(text[i + 1]);
            const int lo = config::ascii_hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// The first value of key in a form-encoded body (url.ParseQuery then Get); nullopt when the
// body does not parse.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
    std::map<std::string, std::string> values;
    std::size_t begin = 0;
    while (begin <= body.size()) {
        auto end = body.find('&', begin);
        if (end == std::string_view::npos) {
            end = body.size();
        }
        const std::string_view pair = body.substr(begin, end - begin);
        begin = end + 1;
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        auto key = query_unescape(pair.substr(0, eq));
        auto value =
            query_unescape(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!key || !value) {
            return std::nullopt;
        }
        values.emplace(std::move(*key), std::move(*value));
    }
    return values;
}

std::string media_type(const std::string* content_type) {
    if (content_type == nullptr) {
        return {};
    }
    std::string type = content_type->substr(0, content_type->find(';'));
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) {
        type.pop_back();
    }
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front()))) {
        type.erase(0, 1);
    }
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return type;
}

// x/oauth2's RetrieveError text.
std::string retrieve_error(int status, const std::string& reason, const std::string& body,
                           const std::string& error_code, const std::string& description) {
    if (!error_code.empty()) {
        std::string text = "oauth2: \"" + error_code + "\"";
        if (!description.empty()) {
            text += " \"" + description + "\"";
        }
        return text;
    }
    return "oauth2: cannot fetch token: " + std::to_string(status) + " " + reason +
           "\nResponse: " + body;
}

std::optional<std::uint16_t> port_of(const net::Url& url) {
    const std::string port = url.port();
    if (port.empty()) {
        return url.scheme == "https" ? 443 : 80;
    }
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || ptr != port.data() + port.size() || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string oauth2_authorization(const OAuth2Token& token) {
    std::string type = token.token_type;
    if (type.empty() || net::iequals(type, "bearer")) {
        type = "Bearer";
    } else if (net::iequals(type, "mac")) {
        type = "MAC";
    } else if (net::iequals(type, "basic")) {
        type = "Basic";
    }
    return type + " " + token.access_token;
}

std::string form_encode(std::vector<std::pair<std::string, std::string>> values) {
    std::stable_sort(values.begin(), values.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (const auto& [key, value] : values) {
        if (!out.empty()) {
            out += '&';
        }
        out += query_escape(key);
        out += '=';
        out += query_escape(value);
    }
    return out;
}

std::string oauth2_token_request_body(const config::OAuth2& cfg, const std::string& secret,
                                      bool credentials_in_body) {
    std::vector<std::pair<std::string, std::string>> values;
    std::string grant_type = "client_credentials";
    const auto overridden = cfg.endpoint_params.find("grant_type");
    if (overridden != cfg.endpoint_params.end() && !overridden->second.empty()) {
        grant_type = overridden->second;
    }
    values.emplace_back("grant_type", grant_type);
    if (!cfg.scopes.empty()) {
        std::string scope;
        for (const std::string& s : cfg.scopes) {
            scope += (scope.empty() ? "" : " ") + s;
        }
        values.emplace_back("scope", scope);
    }
    for (const auto& [key, value] : cfg.endpoint_params) {
        // x/oauth2 refuses to overwrite scope; prometheus/common's config cannot express a
        // clash with client_id, so those are the only cases left to skip.
        if (key == "grant_type" || (key == "scope" && !cfg.scopes.empty())) {
            continue;
        }
        values.emplace_back(key, value);
    }
    if (credentials_in_body) {
        values.emplace_back("client_id", cfg.client_id);
        if (!secret.empty()) {
            values.emplace_back("client_secret", secret);
        }
    }
    return form_encode(std::move(values));
}

std::string oauth2_basic_credentials(const std::string& client_id, const std::string& secret) {
    return "Basic " + base64_encode(query_escape(client_id) + ":" + query_escape(secret));
}

Result<OAuth2Token> parse_oauth2_token_response(int status, const std::string& reason,
                                                const std::string* content_type,
                                                const std::string& body) {
    const bool failure_status = status < 200 || status > 299;
    const std::string type = media_type(content_type);
    OAuth2Token token;
    std::string error_code;
    std::string description;
    if (type == "application/x-www-form-urlencoded" || type == "text/plain") {
        auto values = parse_form(body);
        if (!values) {
            if (failure_status) {
                return unexpected(retrieve_error(status, reason, body, {}, {}));
            }
            return unexpected(std::string("oauth2: cannot parse response: invalid URL escape"));
        }
        token.access_token = (*values)["access_token"];
        token.token_type = (*values)["token_type"];
        error_code = (*values)["error"];
        description = (*values)["error_description"];
    } else {
        const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
        if (json.is_discarded() || !json.is_object()) {
            if (failure_status) {
                return unexpected(retrieve_error(status, reason, body, {}, {}));
            }
            return unexpected(std::string("oauth2: cannot parse json: ") +
                              (json.is_discarded() ? "invalid JSON" : "not a JSON object"));
        }
        const auto text = [&json](const char* key) {
            const auto it = json.find(key);
            return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        token.access_token = text("access_token");
        token.token_type = text("token_type");
        error_code = text("error");
        description = text("error_description");
    }
    if (failure_status || !error_code.empty()) {
        return unexpected(retrieve_error(status, reason, body, error_code, description));
    }
    if (token.access_token.empty()) {
        return unexpected(std::string("oauth2: server response missing access_token"));
    }
    return token;
}

OAuth2TokenFetch::OAuth2TokenFetch(Loop& loop, net::Resolver& resolver, const config::OAuth2& cfg,
                                   std::string user_agent)
    : loop_(loop), resolver_(resolver), cfg_(cfg), user_agent_(std::move(user_agent)) {
}

OAuth2TokenFetch::~OAuth2TokenFetch() = default;

void OAuth2TokenFetch::start(std::uint64_t timeout_ms, Done done) {
    done_ = std::move(done);
    auto url = net::parse_url(cfg_.token_url);
    if (!url || url->hostname().empty() || (url->scheme != "http" && url->scheme != "https")) {
        fail("oauth2: invalid token_url " + cfg_.token_url);
        return;
    }
    token_url_ = std::move(*url);
    const auto port = port_of(token_url_);
    if (!port) {
        fail("oauth2: invalid port in token_url " + cfg_.token_url);
        return;
    }
    port_ = *port;
    dial_port_ = *port;
    if (!cfg_.client_secret_file.empty()) {
        auto secret = read_trimmed_file(cfg_.client_secret_file);
        if (!secret) {
            fail("unable to read oauth2 client secret: " + secret.error());
            return;
        }
        secret_ = std::move(*secret);
    } else {
        secret_ = cfg_.client_secret.value;
    }
    if (token_url_.scheme == "https") {
        auto tls = net::make_tls_client_context(cfg_.tls_config);
        if (!tls) {
            fail("oauth2: " + tls.error());
            return;
        }
        tls_ = std::move(*tls);
    }
    std::string dial_host = token_url_.hostname();
    if (!cfg_.proxy_url.empty()) {
        auto proxy = net::parse_url(cfg_.proxy_url);
        const auto proxy_port = proxy ? port_of(*proxy) : std::nullopt;
        if (!proxy || proxy->hostname().empty() || !proxy_port) {
            fail("oauth2: invalid proxy_url " + config::redact_url(cfg_.proxy_url));
            return;
        }
        dial_host = proxy->hostname();
        dial_port_ = *proxy_port;
        proxy_ = std::move(*proxy);
    }
    resolving_ = resolver_.resolve(dial_host, AF_UNSPEC, timeout_ms,
                                   [this](Result<std::vector<net::IpAddress>> addresses) {
                                       on_resolved(std::move(addresses));
                                   });
}

void OAuth2TokenFetch::on_resolved(Result<std::vector<net::IpAddress>> addresses) {
    resolving_.reset();
    if (!addresses) {
        complete(unexpected(std::string(proxy_ ? "proxyconnect: " : "") + addresses.error()));
        return;
    }
    address_ = addresses->front();
    send(/*credentials_in_body=*/false);
}

void OAuth2TokenFetch::send(bool credentials_in_body) {
    credentials_in_body_ = credentials_in_body;
    net::HttpExchangeOptions options;
    options.address = address_;
    options.port = dial_port_;
    options.limits.max_body_bytes = kMaxTokenResponse;
    const std::string authority =
        token_url_.port().empty() ? token_url_.host + ":" + std::to_string(port_) : token_url_.host;
    if (proxy_) {
        net::HttpProxyOptions proxy;
        proxy.authority = authority;
        if (proxy_->user) {
            proxy.username = proxy_->user->username;
            proxy.password = proxy_->user->password.value_or("");
        }
        options.proxy = std::move(proxy);
    }
    if (tls_) {
        options.tls = tls_;
        options.server_name = token_url_.hostname();
    }
    net::HttpClientRequest request;
    request.method = "POST";
    request.target = token_url_.request_uri();
    request.headers.add("Host", token_url_.host);
    if (!user_agent_.empty()) {
        request.headers.add("User-Agent", user_agent_);
    }
    request.headers.add("Content-Type", "application/x-www-form-urlencoded");
    if (!credentials_in_body) {
        request.headers.add("Authorization", oauth2_basic_credentials(cfg_.client_id, secret_));
    }
    request.body = oauth2_token_request_body(cfg_, secret_, credentials_in_body);
    exchange_ = std::make_unique<net::HttpExchange>(loop_);
    exchange_->start(
        std::move(options), std::move(request),
        [this](std::optional<net::HttpError> error) { on_exchange_done(std::move(error)); });
}

void OAuth2TokenFetch::on_exchange_done(std::optional<net::HttpError> error) {
    Result<OAuth2Token> result = unexpected(std::string());
    if (error) {
        result = unexpected("oauth2: cannot fetch token: " + error->message);
    } else {
        const net::HttpClientResponse& response = exchange_->response();
        result =
            parse_oauth2_token_response(response.head.status, response.head.reason,
                                        response.head.headers.find("Content-Type"), response.body);
    }
    if (!result && !credentials_in_body_) {
        // AuthStyleAutoDetect: the header style failed, try once with the credentials in the
        // body. The finished exchange may be destroyed here (it is inside its done).
        send(/*credentials_in_body=*/true);
        return;
    }
    complete(std::move(result));
}

void OAuth2TokenFetch::fail(std::string reason) {
    loop_.post(alive_, [this, reason = std::move(reason)]() mutable {
        complete(unexpected(std::move(reason)));
    });
}

void OAuth2TokenFetch::complete(Result<OAuth2Token> result) {
    if (finished_) {
        return;
    }
    finished_ = true;
    auto done = std::move(done_);
    done(std::move(result));  // last statement: the owner may destroy this fetch
}

}  // namespace sonde::modules::http

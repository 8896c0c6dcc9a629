#pragma once

// OAuth2 client credentials for the http prober, as prometheus/common's oauth2 round tripper
// drives golang.org/x/oauth2/clientcredentials:
//  - the token request is a POST of application/x-www-form-urlencoded to token_url with
//    grant_type=client_credentials, scope (the scopes joined by spaces, when any) and
//    endpoint_params (which may override grant_type only, as x/oauth2 allows);
//  - the client credentials go as x/oauth2's AuthStyleAutoDetect sends them: first as a Basic
//    Authorization header (id and secret each url.QueryEscape'd), and when that request fails
//    for any reason, once more with client_id and client_secret in the body;
//  - the answer is read as x/oauth2 does (form-encoded for application/x-www-form-urlencoded
//    and text/plain, JSON otherwise, at most 1 MiB); a non-2xx status, an "error" field or a
//    missing access_token is a failure with x/oauth2's wording;
//  - the probe's requests, redirects included, then carry `Authorization: <Type> <token>`,
//    replacing any other Authorization (oauth2.Transport sets it below the client).
// The token request uses the oauth2 block's own tls_config and proxy_url (always through the
// proxy when set), the exporter's User-Agent, and does not follow redirects (Go's would).
// client_secret_file is re-read for each fetch.
//
// Timing: the exporter's token fetch runs inside the first request's RoundTrip but before its
// dial; its trace resets the hop's start at ConnectStart when no DNS ran (the URL names an IP),
// so the token time is in no probe_http_duration_seconds phase, only in probe_duration_seconds.
// sonde fetches the token after resolving the target and before the first hop, and likewise
// counts it in no phase. One token per probe, reused for its redirects (the exporter builds a
// new client, hence a new token source, per probe).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/net/http_client.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/url.hpp"

namespace sonde::modules::http {

struct OAuth2Token {
    std::string access_token;
    std::string token_type;
};

// The Authorization value: x/oauth2's Token.Type() ("Bearer" when empty or any case of
// "bearer", "MAC", "Basic", else as sent) + " " + access_token.
std::string oauth2_authorization(const OAuth2Token& token);

// Go's url.Values.Encode: keys sorted, keys and values url.QueryEscape'd.
std::string form_encode(std::vector<std::pair<std::string, std::string>> values);

// The form body of the token request. credentials_in_body: AuthStyleInParams.
std::string oauth2_token_request_body(const config::OAuth2& cfg, const std::string& secret,
                                      bool credentials_in_body);

// The Authorization header of AuthStyleInHeader.
std::string oauth2_basic_credentials(const std::string& client_id, const std::string& secret);

// x/oauth2's reading of the token endpoint's answer.
Result<OAuth2Token> parse_oauth2_token_response(int status, const std::string& reason,
                                                const std::string* content_type,
                                                const std::string& body);

// One token fetch on the loop. Owned by the probe session; destroying it cancels the lookup and
// the exchange, and done never runs afterwards. done runs at most once, never inside start(),
// as the last thing the fetch does; the owner may destroy the fetch inside done.
class OAuth2TokenFetch {
public:
    using Done = std::function<void(Result<OAuth2Token>)>;

    OAuth2TokenFetch(Loop& loop, net::Resolver& resolver, const config::OAuth2& cfg,
                     std::string user_agent);
    ~OAuth2TokenFetch();
    OAuth2TokenFetch(const OAuth2TokenFetch&) = delete;
    OAuth2TokenFetch& operator=(const OAuth2TokenFetch&) = delete;

    // timeout_ms bounds the name lookup; the probe's deadline bounds the rest.
    void start(std::uint64_t timeout_ms, Done done);

private:
    void on_resolved(Result<std::vector<net::IpAddress>> addresses);
    void send(bool credentials_in_body);
    void on_exchange_done(std::optional<net::HttpError> error);
    void fail(std::string reason);
    void complete(Result<OAuth2Token> result);

    Loop& loop_;
    net::Resolver& resolver_;
    const config::OAuth2& cfg_;
    std::string user_agent_;
    Done done_;
    net::Url token_url_;
    std::optional<net::Url> proxy_;
    std::uint16_t port_ = 0;       // the token endpoint's
    std::uint16_t dial_port_ = 0;  // what is connected to: the endpoint's or the proxy's
    net::IpAddress address_;       // likewise
    std::string secret_;
    std::shared_ptr<const net::TlsClientContext> tls_;
    bool credentials_in_body_ = false;
    bool finished_ = false;
    std::unique_ptr<net::ResolveRequest> resolving_;
    std::unique_ptr<net::HttpExchange> exchange_;
    Alive alive_;
};

}  // namespace sonde::modules::http

#pragma once

// ApiClient: GET requests to the Kubernetes API over sonde's own HTTP client (HttpExchange,
// one connection per request, TLS through TlsClientContext), with the bearer token of a
// TokenSource. A 401 answer makes the token source re-read its file and the request is tried
// once more with the new token (client-go resets its cached token on 401 the same way).
//
// Ownership: the owner of discovery owns the ApiClient; each request returns an ApiCall that
// its caller owns, and destroying the call cancels it at any moment (no callback afterwards).
// The ApiClient must outlive its calls. Loop affinity: the loop's thread only.
//
// Callback contract:
//  - done runs exactly once per call, on the loop, never inside get()/stream(), from a task
//    with none of the call's code below it: the caller MAY destroy the call inside done.
//  - on_open (stream()) runs once when a 200 answer's head arrived, and on_chunk gets the
//    decoded body bytes of that answer as they arrive. Both run inside socket callbacks: they
//    must not destroy the call (hand it to loop.defer_delete()).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "discovery/kubernetes/kube_client_config.hpp"
#include "discovery/kubernetes/token_source.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/net/http_request.hpp"
#include "prober/net/resolver.hpp"
#include "prober/net/tls_context.hpp"

namespace sonde::discovery::kubernetes {

struct ApiResponse {
    int status = 0;
    net::HttpHeaders headers;
    // The whole body for get(); for stream(), only a non-200 answer's body (up to 64 KiB).
    std::string body;
};

class ApiCall {
public:
    virtual ~ApiCall() = default;
};

struct ApiClientOptions {
    // How old the token file's copy may get before a request re-reads it.
    std::chrono::milliseconds token_refresh{std::chrono::seconds(50)};
    std::string user_agent = "sonde/0.1.0 (kubernetes-discovery)";
};

class ApiClient {
public:
    // An error (transport failure, timeout) or the answer, whatever its status.
    using Done = std::function<void(Result<ApiResponse> response)>;
    using OnChunk = std::function<void(std::string_view chunk)>;
    using OnOpen = std::function<void()>;

    // Builds the TLS context at once (an unreadable CA or key is an error here). resolver
    // resolves a server given by name; when null and one is needed, the client makes its own.
    [[nodiscard]] static Result<std::unique_ptr<ApiClient>> create(Loop& loop,
                                                                   KubeClientConfig config,
                                                                   net::Resolver* resolver,
                                                                   ApiClientOptions options = {});
    ~ApiClient();
    ApiClient(const ApiClient&) = delete;
    ApiClient& operator=(const ApiClient&) = delete;

    // GET target ("/api/v1/services?limit=500"), the body buffered. timeout bounds the call.
    [[nodiscard]] std::unique_ptr<ApiCall> get(std::string target,
                                               std::chrono::milliseconds timeout, Done done);
    // GET target with the body streamed to on_chunk (watches).
    [[nodiscard]] std::unique_ptr<ApiCall> stream(std::string target,
                                                  std::chrono::milliseconds timeout, OnOpen on_open,
                                                  OnChunk on_chunk, Done done);

    const KubeClientConfig& config() const { return config_; }
    TokenSource& tokens() { return tokens_; }
    Loop& loop() { return loop_; }

private:
    class Call;
    ApiClient(Loop& loop, KubeClientConfig config, ApiClientOptions options);

    Loop& loop_;
    KubeClientConfig config_;
    ApiClientOptions options_;
    TokenSource tokens_;
    std::shared_ptr<const net::TlsClientContext> tls_;
    std::optional<net::IpAddress> literal_;  // the server's address when it is an IP literal
    std::unique_ptr<net::Resolver> own_resolver_;
    net::Resolver* resolver_ = nullptr;
};

// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string query_escape(std::string_view value);

}  // namespace sonde::discovery::kubernetes

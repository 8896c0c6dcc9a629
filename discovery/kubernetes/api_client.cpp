#include "discovery/kubernetes/api_client.hpp"

#include <utility>

#include <sys/socket.h>

#include "prober/core/uv_error.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/http_client.hpp"

namespace sonde::discovery::kubernetes {
namespace {

constexpr std::size_t kMaxErrorBody = std::size_t{64} * 1024;
constexpr std::uint64_t kResolveTimeoutMs = 10000;

}  // namespace

// One request, tried at most twice (a second time after a 401 with a token file).
class ApiClient::Call : public ApiCall {
public:
    Call(ApiClient& client, std::string target, std::chrono::milliseconds timeout, OnOpen on_open,
         OnChunk on_chunk, Done done, bool streaming)
        : client_(client),
          target_(std::move(target)),
          timeout_(timeout),
          on_open_(std::move(on_open)),
          on_chunk_(std::move(on_chunk)),
          done_(std::move(done)),
          streaming_(streaming) {}

    ~Call() override = default;
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    Call(Call&&) = delete;
    Call& operator=(Call&&) = delete;

    void start() {
        if (timeout_.count() > 0) {
            const int rc = timer_.init(
                this, [&](uv_timer_t* t) { return uv_timer_init(client_.loop_.raw(), t); });
            if (rc != 0) {
                fail_later("cannot create a timer: " + uv_error_text(rc));
                return;
            }
            uv_timer_start(timer_.get(), &Call::on_timeout,
                           static_cast<std::uint64_t>(timeout_.count()), 0);
        }
        attempt();
    }

private:
    static void on_timeout(uv_timer_t* timer) noexcept {
        auto* self = owner_of<Call>(timer);
        if (self == nullptr) {
            return;
        }
        // Not inside the exchange's callbacks: it may be destroyed right here.
        self->resolve_.reset();
        self->exchange_.reset();
        self->finish(unexpected("GET " + self->target_ + ": no complete answer within " +
                                std::to_string(self->timeout_.count()) + " ms"));
    }

    void attempt() {
        if (client_.literal_) {
            send(*client_.literal_);
            return;
        }
        resolve_ =
            client_.resolver_->resolve(client_.config_.host, AF_UNSPEC, kResolveTimeoutMs,
                                       [this](Result<std::vector<net::IpAddress>> addresses) {
                                           // Resolver callbacks may destroy their request; hand it
                                           // over instead.
                                           client_.loop_.defer_delete(std::move(resolve_));
                                           if (!addresses) {
                                               finish(unexpected(addresses.error()));
                                               return;
                                           }
                                           send(addresses->front());
                                       });
    }

    void send(const net::IpAddress& address) {
        net::HttpExchangeOptions options;
        options.address = address;
        options.port = client_.config_.port;
        options.tls = client_.tls_;
        options.server_name = client_.config_.host;
        if (streaming_) {
            options.on_head = [this](const net::HttpResponseHead& head) {
                status_ = head.status;
                if (status_ == 200 && on_open_) {
                    on_open_();
                }
            };
            options.on_body_chunk = [this](std::string_view chunk) {
                if (status_ == 200) {
                    on_chunk_(chunk);
                } else if (error_body_.size() < kMaxErrorBody) {
                    error_body_.append(chunk.substr(0, kMaxErrorBody - error_body_.size()));
                }
            };
        }
        net::HttpClientRequest request;
        request.target = target_;
        request.headers.add("Host", client_.config_.authority());
        request.headers.add("User-Agent", client_.options_.user_agent);
        request.headers.add("Accept", "application/json");
        // client-go sends credentials only over TLS.
        const std::string& token = client_.tokens_.token(now());
        if (!token.empty() && client_.config_.scheme == "https") {
            request.headers.add("Authorization", "Bearer " + token);
        }
        status_ = 0;
        error_body_.clear();
        exchange_ = std::make_unique<net::HttpExchange>(client_.loop_);
        exchange_->start(
            std::move(options), std::move(request),
            [this](const std::optional<net::HttpError>& error) { on_exchange_done(error); });
    }

    void on_exchange_done(const std::optional<net::HttpError>& error) {
        ApiResponse response;
        response.status = exchange_->response().head.status;
        response.headers = exchange_->response().head.headers;
        response.body = streaming_ ? std::move(error_body_) : std::move(exchange_->response().body);
        client_.loop_.defer_delete(std::move(exchange_));
        if (error && !(response.status != 0 && response.status != 200 && streaming_)) {
            finish(unexpected("GET " + target_ + ": " + error->message));
            return;
        }
        if (response.status == 401) {
            client_.tokens_.invalidate();
            if (!retried_ && client_.tokens_.from_file()) {
                retried_ = true;
                attempt();
                return;
            }
        }
        finish(std::move(response));
    }

    void fail_later(std::string message) {
        client_.loop_.post(alive_,
                           [this, message = std::move(message)] { finish(unexpected(message)); });
    }

    void finish(Result<ApiResponse> result) {
        timer_.reset();
        Done done = std::move(done_);
        done(std::move(result));
    }

    [[nodiscard]] std::chrono::milliseconds now() const {
        return std::chrono::milliseconds(uv_now(client_.loop_.raw()));
    }

    ApiClient& client_;
    std::string target_;
    std::chrono::milliseconds timeout_;
    OnOpen on_open_;
    OnChunk on_chunk_;
    Done done_;
    bool streaming_;
    bool retried_ = false;
    int status_ = 0;
    std::string error_body_;
    std::unique_ptr<net::ResolveRequest> resolve_;
    std::unique_ptr<net::HttpExchange> exchange_;
    UvHandle<uv_timer_t> timer_;
    Alive alive_;
};

ApiClient::ApiClient(Loop& loop, KubeClientConfig config, ApiClientOptions options)
    : loop_(loop),
      config_(std::move(config)),
      options_(std::move(options)),
      tokens_(config_.token, config_.token_file, options_.token_refresh) {
}

ApiClient::~ApiClient() = default;

Result<std::unique_ptr<ApiClient>> ApiClient::create(Loop& loop, KubeClientConfig config,
                                                     net::Resolver* resolver,
                                                     ApiClientOptions options) {
    std::unique_ptr<ApiClient> client(new ApiClient(loop, std::move(config), std::move(options)));
    if (client->config_.scheme == "https") {
        auto tls = net::make_tls_client_context(client->config_.tls);
        if (!tls) {
            return unexpected("kubernetes API " + client->config_.authority() + ": " + tls.error());
        }
        client->tls_ = std::move(*tls);
    }
    client->literal_ = net::IpAddress::parse(client->config_.host);
    if (!client->literal_) {
        client->resolver_ = resolver;
        if (client->resolver_ == nullptr) {
            auto own = net::Resolver::create(loop);
            if (!own) {
                return unexpected("kubernetes API: " + own.error());
            }
            client->own_resolver_ = std::move(*own);
            client->resolver_ = client->own_resolver_.get();
        }
    }
    return client;
}

std::unique_ptr<ApiCall> ApiClient::get(std::string target, std::chrono::milliseconds timeout,
                                        Done done) {
    auto call = std::make_unique<Call>(*this, std::move(target), timeout, OnOpen{}, OnChunk{},
                                       std::move(done), false);
    call->start();
    return call;
}

std::unique_ptr<ApiCall> ApiClient::stream(std::string target, std::chrono::milliseconds timeout,
                                           OnOpen on_open, OnChunk on_chunk, Done done) {
    auto call = std::make_unique<Call>(*this, std::move(target), timeout, std::move(on_open),
                                       std::move(on_chunk), std::move(done), true);
    call->start();
    return call;
}

std::string query_escape(std::string_view value) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string out;
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0xf];
        }
    }
    return out;
}

}  // namespace sonde::discovery::kubernetes

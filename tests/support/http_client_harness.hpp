#pragma once

// ExchangeRun: one HttpExchange started by a test, counting its completions so that tests can
// prove done ran exactly once, and keeping the error it reported; and the options and requests
// the HTTP client tests start exchanges with.

#include <memory>
#include <optional>
#include <string>

#include "prober/core/loop.hpp"
#include "prober/net/http_client.hpp"
#include "prober/net/ip_address.hpp"

namespace sonde::test {

// An exchange with a server of the test on a loopback address.
inline net::HttpExchangeOptions local_exchange(std::uint16_t port, const char* ip = "127.0.0.1") {
    net::HttpExchangeOptions options;
    options.address = *net::IpAddress::parse(ip);
    options.port = port;
    return options;
}

// GET target with the given Host header.
inline net::HttpClientRequest client_get(std::string target, std::string host) {
    net::HttpClientRequest request;
    request.target = std::move(target);
    request.headers.add("Host", std::move(host));
    return request;
}

struct ExchangeRun {
    explicit ExchangeRun(Loop& loop) : exchange(std::make_unique<net::HttpExchange>(loop)) {}

    void start(net::HttpExchangeOptions options, net::HttpClientRequest request) {
        exchange->start(std::move(options), std::move(request),
                        [this](std::optional<net::HttpError> e) {
                            ++calls;
                            error = std::move(e);
                        });
    }

    std::unique_ptr<net::HttpExchange> exchange;
    int calls = 0;
    std::optional<net::HttpError> error;
};

}  // namespace sonde::test

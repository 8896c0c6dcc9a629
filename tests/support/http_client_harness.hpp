#pragma once

// ExchangeRun: one HttpExchange started by a test, counting its completions so that tests can
// prove done ran exactly once, and keeping the error it reported.

#include <memory>
#include <optional>

#include "prober/core/loop.hpp"
#include "prober/net/http_client.hpp"

namespace sonde::test {

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

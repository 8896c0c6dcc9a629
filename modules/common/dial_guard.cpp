#include "modules/common/dial_guard.hpp"

#include <utility>

namespace sonde::modules {
namespace {

constexpr const char* kPrefix = "denied by probe_policy: ";

// A lookup the host rules refused: it answers later, through the loop, as the Resolver
// contract requires, unless it is destroyed first.
class DeniedRequest final : public net::ResolveRequest {
public:
    DeniedRequest(Loop& loop, std::string message, net::Resolver::Callback callback) {
        loop.post(alive_, [message = std::move(message), callback = std::move(callback)] {
            // The request may be destroyed by the callback: nothing of it is used afterwards.
            callback(unexpected(message));
        });
    }

private:
    Alive alive_;
};

}  // namespace

DialGuard::DialGuard(Loop& loop, net::Resolver& inner,
                     std::shared_ptr<const config::ProbePolicy> policy, ProbeLog& log)
    : loop_(loop), inner_(inner), policy_(std::move(policy)), log_(log) {
}

void DialGuard::record(const config::PolicyDenial& denial, bool first) {
    log_.error("Denied by probe policy",
               {{"reason", config::deny_reason_label(denial.reason)}, {"detail", denial.message}});
    if (!denial_) {
        denial_ = DialDenial{denial.reason, kPrefix + denial.message, first && allowed_ == 0};
    }
}

std::unique_ptr<net::ResolveRequest> DialGuard::resolve(const std::string& host, int family,
                                                        std::uint64_t timeout_ms,
                                                        Callback callback) {
    const bool first = lookups_++ == 0;
    if (auto denied = policy_->check_host(host)) {
        record(*denied, first);
        return std::make_unique<DeniedRequest>(loop_, kPrefix + denied->message,
                                               std::move(callback));
    }
    // The guard outlives every request made through it (it outlives the session), so `this`
    // is valid whenever the inner resolver answers.
    return inner_.resolve(host, family, timeout_ms,
                          [this, host, first, callback = std::move(callback)](
                              Result<std::vector<net::IpAddress>> result) {
                              if (!result) {
                                  callback(std::move(result));
                                  return;
                              }
                              callback(filter(host, first, std::move(*result)));
                          });
}

Result<std::vector<net::IpAddress>> DialGuard::filter(const std::string& host, bool first,
                                                      std::vector<net::IpAddress> addresses) {
    std::vector<net::IpAddress> allowed;
    std::optional<config::PolicyDenial> first_denied;
    for (auto& address : addresses) {
        if (auto denied = policy_->check_address(host, address.bytes())) {
            log_.debug("Address dropped by probe policy",
                       {{"address", address.to_string()}, {"detail", denied->message}});
            if (!first_denied) {
                first_denied = std::move(denied);
            }
            continue;
        }
        allowed.push_back(address);
    }
    if (allowed.empty() && first_denied) {
        record(*first_denied, first);
        return unexpected(kPrefix + first_denied->message);
    }
    ++allowed_;
    return allowed;
}

std::optional<std::string> DialGuard::check_unresolved(const std::string& host) {
    const bool first = lookups_++ == 0;
    auto denied = policy_->check_host(host);
    if (!denied) {
        if (const auto literal = net::IpAddress::parse(host)) {
            denied = policy_->check_address(host, literal->bytes());
        }
    }
    if (denied) {
        record(*denied, first);
        return kPrefix + denied->message;
    }
    ++allowed_;
    return std::nullopt;
}

}  // namespace sonde::modules

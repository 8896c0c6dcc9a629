#include "discovery/kubernetes/token_source.hpp"

#include "discovery/kubernetes/kube_client_config.hpp"

namespace sonde::discovery::kubernetes {

const std::string& TokenSource::token(std::chrono::milliseconds now) {
    if (file_.empty() || (!stale_ && now - read_at_ < refresh_)) {
        return token_;
    }
    // Whatever the outcome, wait a period before the next try: a missing file is not re-read
    // on every request.
    stale_ = false;
    read_at_ = now;
    auto text = read_file(file_);
    if (!text) {
        last_error_ = text.error();
        return token_;
    }
    std::string token = trim_space(*text);
    if (token.empty()) {
        last_error_ = "token file " + file_ + " is empty";
        return token_;
    }
    last_error_.clear();
    token_ = std::move(token);
    ++reads_;
    return token_;
}

}  // namespace sonde::discovery::kubernetes

#pragma once

// TokenSource: the bearer token for the next API request, as client-go's cached file token
// source keeps it. A static token never changes. A token file (the projected service-account
// token, rewritten by the kubelet before it expires) is re-read when the copy is older than the
// refresh period and after the API server answered 401; a read that fails or finds the file
// empty keeps the previous token and says so through last_error(). Plain value, no loop
// affinity: the caller passes a monotonic `now`.

#include <chrono>
#include <string>

namespace sonde::discovery::kubernetes {

class TokenSource {
public:
    TokenSource(std::string static_token, std::string token_file,
                std::chrono::milliseconds refresh = std::chrono::seconds(50))
        : token_(std::move(static_token)), file_(std::move(token_file)), refresh_(refresh) {}

    // The token to send now ("" for none).
    const std::string& token(std::chrono::milliseconds now);
    // The server refused the token: the next token() re-reads the file.
    void invalidate() { stale_ = true; }
    bool from_file() const { return !file_.empty(); }
    // Why the last re-read failed ("" when it worked).
    const std::string& last_error() const { return last_error_; }
    // How many times the file was read successfully.
    unsigned reads() const { return reads_; }

private:
    std::string token_;
    std::string file_;
    std::chrono::milliseconds refresh_;
    std::chrono::milliseconds read_at_{0};
    bool stale_ = true;
    std::string last_error_;
    unsigned reads_ = 0;
};

}  // namespace sonde::discovery::kubernetes

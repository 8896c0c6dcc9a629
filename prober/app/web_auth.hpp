#pragma once

// WebGate: what --web.config.file asks of sonde's HTTP server (exporter-toolkit's webHandler
// and GetConfigForClient): TLS for new connections, basic authentication of every request on
// every endpoint, and the configured response headers.
//
// Reload: like exporter-toolkit, which reads the file on every request and handshake, the gate
// looks at the file (and at the certificate, key and CA files it names) for every new
// connection and every request, with stat() only, and reads them again when one changed. A
// changed file takes effect at once, without SIGHUP or a restart; a broken one is logged and
// the last good one stays in force. Turning TLS on or off needs a restart (the listener's kind
// is decided at startup, as in exporter-toolkit).
//
// Passwords: checked with libcrypt's crypt_r (bcrypt) on libuv's thread pool, so a check
// (~70 ms at cost 10) never stalls the loop; an unknown user is checked against a fixed hash so
// timing does not reveal which users exist. Outcomes are remembered per (user, hash, password)
// digest, so a scraper pays bcrypt once, not per scrape; concurrent requests with the same
// credentials share one check.
//
// Ownership: shared by the App and the HTTP server (std::shared_ptr). Loop thread only. A check
// in flight keeps only a weak reference; its requests are answered only while their client is
// still connected.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/types.h>
#include <uv.h>

#include "config/web_config.hpp"
#include "prober/core/logger.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/result.hpp"
#include "prober/net/http_server.hpp"

namespace sonde::app {

// The user and password of an "Authorization: Basic ..." header (Go's Request.BasicAuth).
struct BasicCredentials {
    std::string user;
    std::string password;
};
std::optional<BasicCredentials> parse_basic_auth(const std::string* authorization);

// crypt_r(3) on password and a bcrypt hash; true when they match. Blocking (bcrypt's cost).
bool bcrypt_matches(const std::string& password, const std::string& hash);

class WebGate final : public net::HttpServerGate, public std::enable_shared_from_this<WebGate> {
public:
    // Loads the file and builds its TLS context; an error here refuses to start.
    [[nodiscard]] static Result<std::shared_ptr<WebGate>> create(Loop& loop, Logger& logger,
                                                                 std::string path);
    ~WebGate() override;
    WebGate(const WebGate&) = delete;
    WebGate& operator=(const WebGate&) = delete;

    bool tls_enabled() const { return config_->tls_enabled; }
    // Reads the files again when one changed since the last look (see above).
    void refresh();

    // net::HttpServerGate
    std::shared_ptr<const net::TlsServerContext> tls_context() override;
    void admit(const net::HttpRequest& request, net::HttpResponder responder,
               const net::HttpHandler& pass) override;
    void add_headers(net::HttpHeaders& headers) override;

    // For tests: bcrypt checks started so far, and successful / failed reloads.
    std::uint64_t bcrypt_runs() const { return bcrypt_runs_; }
    std::uint64_t reloads() const { return reloads_; }
    std::uint64_t reload_failures() const { return reload_failures_; }
    // Credentials being checked now.
    std::size_t checks_in_flight() const { return waiting_.size(); }

private:
    struct Stamp {
        bool exists = false;
        dev_t device = 0;
        ino_t inode = 0;
        off_t size = 0;
        std::int64_t mtime_ns = 0;
        std::int64_t ctime_ns = 0;
        bool operator==(const Stamp&) const = default;
    };
    struct Waiter {
        net::HttpRequest request;
        net::HttpResponder responder;
        const net::HttpHandler* pass = nullptr;
        bool valid_user = false;
    };
    struct Check;

    WebGate(Loop& loop, Logger& logger, std::string path);
    Result<void> load();
    void watch(const config::WebConfig& config);
    std::vector<Stamp> stamps() const;
    void remember(const std::string& key, bool match);
    void on_checked(const std::string& key, bool match);
    void unauthorized(net::HttpResponder& responder);
    static void on_work(uv_work_t* req) noexcept;
    static void on_work_done(uv_work_t* req, int status) noexcept;

    Loop& loop_;
    Logger& logger_;
    std::string path_;
    std::shared_ptr<const config::WebConfig> config_;
    std::shared_ptr<const net::TlsServerContext> tls_;
    std::vector<std::string> watched_;
    std::vector<Stamp> stamps_;
    // Outcomes of bcrypt checks by digest of (user, hash, password); oldest evicted first.
    std::unordered_map<std::string, bool> cache_;
    std::deque<std::string> cache_order_;
    // Requests waiting for a check in flight, by the same digest.
    std::map<std::string, std::vector<Waiter>> waiting_;
    std::uint64_t bcrypt_runs_ = 0;
    std::uint64_t reloads_ = 0;
    std::uint64_t reload_failures_ = 0;
};

}  // namespace sonde::app

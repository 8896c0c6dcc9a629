#include "prober/app/web_auth.hpp"

#include <array>
#include <cctype>
#include <cstring>
#include <utility>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <uv.h>
#include <yaml-cpp/yaml.h>

#include "prober/net/web_tls.hpp"

namespace sonde::app {
namespace {

// Checked instead when the user is unknown, so that the answer takes as long as for a known
// user (exporter-toolkit does the same). The bcrypt of a random string nobody kept.
constexpr const char* kUnknownUserHash =
    "$2b$10$1GmIyUaaqBUlRRHIAv3YZeLNrhyBmCMr9B9vcpoVLZ4LrDoLr9Bem";

// Remembered outcomes; beyond this the oldest are forgotten.
constexpr std::size_t kCacheEntries = 256;

// The cache key: a digest, so that no password is kept in memory longer than its check.
std::string digest(const std::string& user, const std::string& hash, const std::string& password) {
    std::string input;
    input.reserve(user.size() + hash.size() + password.size() + 2);
    input.append(user).push_back('\0');
    input.append(hash).push_back('\0');
    input.append(password);
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), out.data(), &length, EVP_sha256(), nullptr) != 1) {
        length = 0;
    }
    OPENSSL_cleanse(input.data(), input.size());
    return {reinterpret_cast<const char*>(out.data()), length};
}

bool iequals_prefix(const std::string& text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        const auto a = static_cast<unsigned char>(text[i]);
        const auto b = static_cast<unsigned char>(prefix[i]);
        if (std::tolower(a) != std::tolower(b)) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<BasicCredentials> parse_basic_auth(const std::string* authorization) {
    if (authorization == nullptr || !iequals_prefix(*authorization, "Basic ")) {
        return std::nullopt;
    }
    const std::string encoded = authorization->substr(6);
    const std::vector<unsigned char> bytes = YAML::DecodeBase64(encoded);
    if (bytes.empty()) {
        return std::nullopt;
    }
    const std::string decoded(bytes.begin(), bytes.end());
    const auto colon = decoded.find(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
    // crypt(3) reads a C string: a password with a NUL in it would be checked cut short.
    if (password.find('\0') != std::string::npos) {
        return false;
    }
    // Large (32 KiB in libxcrypt) and must start zeroed: on the heap, value-initialised.
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    // libxcrypt answers a failure with a string starting with '*', never with the hash.
    const bool match = out != nullptr && out[0] != '*' && std::strlen(out) == hash.size() &&
                       CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
    OPENSSL_cleanse(data.get(), sizeof(crypt_data));
    return match;
}

// One bcrypt check on libuv's thread pool. The thread touches only this object.
struct WebGate::Check {
    uv_work_t req{};
    std::weak_ptr<WebGate> gate;
    std::string key;
    std::string password;
    std::string hash;
    bool match = false;

    ~Check() { OPENSSL_cleanse(password.data(), password.size()); }
};

WebGate::WebGate(Loop& loop, Logger& logger, std::string path)
    : loop_(loop), logger_(logger), path_(std::move(path)) {
}

WebGate::~WebGate() = default;

Result<std::shared_ptr<WebGate>> WebGate::create(Loop& loop, Logger& logger, std::string path) {
    std::shared_ptr<WebGate> gate(new WebGate(loop, logger, std::move(path)));
    if (auto ok = gate->load(); !ok) {
        return Error{ok.error()};
    }
    return gate;
}

Result<void> WebGate::load() {
    auto loaded = config::load_web_config_file(path_);
    if (!loaded) {
        watch(config_ ? *config_ : config::WebConfig{});
        return Error{loaded.error()};
    }
    watch(*loaded);
    if (config_ && loaded->tls_enabled != config_->tls_enabled) {
        return unexpected(path_ + ": TLS cannot be turned " + (loaded->tls_enabled ? "on" : "off") +
                          " without a restart");
    }
    std::shared_ptr<const net::TlsServerContext> tls;
    if (loaded->tls_enabled) {
        auto built = net::make_web_tls_context(loaded->tls);
        if (!built) {
            return unexpected(path_ + ": " + built.error());
        }
        tls = std::move(*built);
    }
    config_ = std::make_shared<const config::WebConfig>(std::move(*loaded));
    tls_ = std::move(tls);
    return {};
}

void WebGate::watch(const config::WebConfig& config) {
    watched_ = {path_};
    for (const std::string* file :
         {&config.tls.cert_file, &config.tls.key_file, &config.tls.client_ca_file}) {
        if (config.tls_enabled && !file->empty()) {
            watched_.push_back(*file);
        }
    }
    stamps_ = stamps();
}

std::vector<WebGate::Stamp> WebGate::stamps() const {
    std::vector<Stamp> out;
    out.reserve(watched_.size());
    for (const auto& file : watched_) {
        struct stat info {};
        Stamp stamp;
        if (::stat(file.c_str(), &info) == 0) {
            stamp.exists = true;
            stamp.device = info.st_dev;
            stamp.inode = info.st_ino;
            stamp.size = info.st_size;
            stamp.mtime_ns = info.st_mtim.tv_sec * 1'000'000'000LL + info.st_mtim.tv_nsec;
            stamp.ctime_ns = info.st_ctim.tv_sec * 1'000'000'000LL + info.st_ctim.tv_nsec;
        }
        out.push_back(stamp);
    }
    return out;
}

void WebGate::refresh() {
    if (stamps() == stamps_) {
        return;
    }
    if (auto ok = load(); !ok) {
        ++reload_failures_;
        logger_.error("Error reloading web config; the previous one stays in force",
                      {{"file", path_}, {"err", ok.error()}});
        return;
    }
    ++reloads_;
    logger_.info("Reloaded web config", {{"file", path_}});
}

std::shared_ptr<const net::TlsServerContext> WebGate::tls_context() {
    refresh();
    return tls_;
}

void WebGate::add_headers(net::HttpHeaders& headers) {
    for (const auto& [name, value] : config_->headers) {
        if (!headers.contains(name)) {
            headers.add(name, value);
        }
    }
}

void WebGate::unauthorized(net::HttpResponder& responder) {
    auto response = net::HttpResponse::text(401, "Unauthorized\n");
    response.headers.set("WWW-Authenticate", "Basic");
    responder.respond(std::move(response));
}

void WebGate::admit(const net::HttpRequest& request, net::HttpResponder responder,
                    const net::HttpHandler& pass) {
    refresh();
    const auto& users = config_->basic_auth_users;
    if (users.empty()) {
        pass(request, std::move(responder));
        return;
    }
    auto credentials = parse_basic_auth(request.header("authorization"));
    if (!credentials) {
        unauthorized(responder);
        return;
    }
    const auto user = users.find(credentials->user);
    const bool valid_user = user != users.end();
    const std::string hash = valid_user ? user->second.value : kUnknownUserHash;
    std::string key = digest(credentials->user, hash, credentials->password);
    if (const auto known = cache_.find(key); known != cache_.end()) {
        if (known->second && valid_user) {
            pass(request, std::move(responder));
        } else {
            unauthorized(responder);
        }
        return;
    }
    auto& waiters = waiting_[key];
    waiters.push_back(Waiter{request, std::move(responder), &pass, valid_user});
    if (waiters.size() > 1) {
        return;  // the same credentials are being checked already
    }
    auto check = std::make_unique<Check>();
    check->req.data = check.get();
    check->gate = weak_from_this();
    check->key = key;
    check->password = std::move(credentials->password);
    check->hash = hash;
    const int rc =
        uv_queue_work(loop_.raw(), &check->req, &WebGate::on_work, &WebGate::on_work_done);
    if (rc != 0) {
        // No thread pool: fail closed rather than check on the loop.
        logger_.error("Cannot check a password", {{"err", uv_strerror(rc)}});
        auto pending = std::move(waiting_[key]);
        waiting_.erase(key);
        for (auto& waiter : pending) {
            waiter.responder.respond(net::HttpResponse::text(500, "Internal Server Error\n"));
        }
        return;
    }
    ++bcrypt_runs_;
    (void)check.release();  // freed in on_work_done
}

void WebGate::on_work(uv_work_t* req) noexcept {
    auto* check = static_cast<Check*>(req->data);
    check->match = bcrypt_matches(check->password, check->hash);
}

void WebGate::on_work_done(uv_work_t* req, int status) noexcept {
    std::unique_ptr<Check> check(static_cast<Check*>(req->data));
    if (auto gate = check->gate.lock()) {
        gate->on_checked(check->key, status == 0 && check->match);
    }
}

void WebGate::remember(const std::string& key, bool match) {
    if (cache_.size() >= kCacheEntries && !cache_order_.empty()) {
        cache_.erase(cache_order_.front());
        cache_order_.pop_front();
    }
    if (cache_.emplace(key, match).second) {
        cache_order_.push_back(key);
    }
}

void WebGate::on_checked(const std::string& key, bool match) {
    remember(key, match);
    auto found = waiting_.find(key);
    if (found == waiting_.end()) {
        return;
    }
    auto waiters = std::move(found->second);
    waiting_.erase(found);
    for (auto& waiter : waiters) {
        // A responder still connected proves that its server, and with it pass, is alive.
        if (!waiter.responder.connected()) {
            continue;
        }
        if (match && waiter.valid_user) {
            (*waiter.pass)(waiter.request, std::move(waiter.responder));
        } else {
            unauthorized(waiter.responder);
        }
    }
}

}  // namespace sonde::app

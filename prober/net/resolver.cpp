#include "prober/net/resolver.hpp"

#include <cstddef>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <ares.h>
#include <sys/time.h>

#include "prober/core/uv_handle.hpp"
#include "prober/net/fd_budget.hpp"

namespace sonde::net {
namespace {

class AresResolver;
class AresRequest;

std::string lookup_error(const std::string& host, const std::string& reason) {
    return "lookup " + host + ": " + reason;
}

// The one conversion of c-ares status codes into sonde's error text.
std::string ares_error_text(const std::string& host, int status) {
    return lookup_error(host, ares_strerror(status));
}

struct AddrinfoDeleter {
    void operator()(ares_addrinfo* info) const { ares_freeaddrinfo(info); }
};
using AddrinfoPtr = std::unique_ptr<ares_addrinfo, AddrinfoDeleter>;

std::vector<IpAddress> addresses_of(const ares_addrinfo* info) {
    std::vector<IpAddress> addresses;
    for (const ares_addrinfo_node* node = info != nullptr ? info->nodes : nullptr; node != nullptr;
         node = node->ai_next) {
        if (node->ai_family == AF_INET && node->ai_addr != nullptr) {
            addresses.push_back(
                IpAddress::from_v4(reinterpret_cast<const sockaddr_in*>(node->ai_addr)->sin_addr));
        } else if (node->ai_family == AF_INET6 && node->ai_addr != nullptr) {
            addresses.push_back(IpAddress::from_v6(
                reinterpret_cast<const sockaddr_in6*>(node->ai_addr)->sin6_addr));
        }
    }
    return addresses;
}

// What c-ares holds for one ares_getaddrinfo() call: the "heap context with a cancelled flag".
// c-ares 1.18 has no per-query cancel, so cancelling clears `request`; the context itself is
// freed in on_addrinfo, which c-ares calls exactly once for every query (with
// ARES_EDESTRUCTION from ares_destroy() at the latest).
struct AresQuery {
    AresRequest* request = nullptr;  // null once cancelled
};

// One lookup, owned by the caller. Its callback runs at most once, always from a later loop
// iteration (posted) or from its own timer, never from inside resolve() or inside c-ares.
class AresRequest final : public ResolveRequest {
public:
    AresRequest(Loop& loop, AresResolver& resolver, std::string host, Resolver::Callback callback)
        : loop_(loop),
          resolver_(&resolver),
          host_(std::move(host)),
          callback_(std::move(callback)) {}
    ~AresRequest() override;
    AresRequest(const AresRequest&) = delete;
    AresRequest& operator=(const AresRequest&) = delete;

    const std::string& host() const { return host_; }

    // Starts the per-request bound; returns the libuv error, 0 on success.
    int start_timer(std::uint64_t timeout_ms);
    // Hands a context to c-ares; the request keeps a pointer so that it can cancel it.
    AresQuery* attach_query() {
        query_ = new AresQuery{this};
        return query_;
    }
    // Called by on_addrinfo when c-ares is done with the context (it frees it).
    void query_done() { query_ = nullptr; }
    // Records the outcome and delivers it on a later loop iteration.
    void complete(Result<std::vector<IpAddress>> result);
    // The Resolver is going away: cancel everything; the callback never runs.
    void detach();

private:
    static void on_timeout(uv_timer_t* timer) noexcept;
    void cancel_query();
    void finish(Result<std::vector<IpAddress>> result);

    Loop& loop_;
    AresResolver* resolver_;  // null once the Resolver has gone
    std::string host_;
    Resolver::Callback callback_;
    AresQuery* query_ = nullptr;  // owned by c-ares until on_addrinfo
    UvHandle<uv_timer_t> timer_;
    Alive alive_;  // guards the posted finish() against this request's destruction
};

class AresResolver final : public Resolver {
public:
    explicit AresResolver(Loop& loop) : loop_(loop) {}
    ~AresResolver() override;
    AresResolver(const AresResolver&) = delete;
    AresResolver& operator=(const AresResolver&) = delete;

    Result<void> init(const ResolverOptions& options);

    std::unique_ptr<ResolveRequest> resolve(const std::string& host, int family,
                                            std::uint64_t timeout_ms, Callback callback) override;

    void forget(AresRequest* request) { requests_.erase(request); }

private:
    static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept;
    static void on_poll(uv_poll_t* handle, int status, int events) noexcept;
    static void on_timer(uv_timer_t* timer) noexcept;
    static void on_addrinfo(void* arg, int status, int timeouts, ares_addrinfo* result) noexcept;
    void sock_state(ares_socket_t fd, bool readable, bool writable);
    // Re-arms the c-ares timer from ares_timeout(); called after every entry into c-ares.
    void update_timer();

    Loop& loop_;
    bool library_initialized_ = false;
    ares_channel channel_ = nullptr;
    std::unordered_map<ares_socket_t, UvHandle<uv_poll_t>> polls_;
    UvHandle<uv_timer_t> timer_;
    std::unordered_set<AresRequest*> requests_;
};

// ---------------------------------------------------------------------------------------------
// AresRequest

AresRequest::~AresRequest() {
    cancel_query();
    if (resolver_ != nullptr) {
        resolver_->forget(this);
    }
}

int AresRequest::start_timer(std::uint64_t timeout_ms) {
    if (timeout_ms == 0) {
        return 0;
    }
    const int rc =
        timer_.init(this, [this](uv_timer_t* t) { return uv_timer_init(loop_.raw(), t); });
    if (rc != 0) {
        return rc;
    }
    // Timers count from the loop's cached time, which may be stale by however long the current
    // iteration has run so far; refresh it so that the bound starts now.
    uv_update_time(loop_.raw());
    return uv_timer_start(timer_.get(), &AresRequest::on_timeout, timeout_ms, 0);
}

void AresRequest::cancel_query() {
    if (query_ != nullptr) {
        query_->request = nullptr;
        query_ = nullptr;
    }
}

void AresRequest::complete(Result<std::vector<IpAddress>> result) {
    timer_.reset();
    // c-ares may call back from inside ares_getaddrinfo() (literals, /etc/hosts), that is inside
    // resolve(), or from inside ares_process_fd(); the caller must be in neither when its
    // callback runs, so the outcome is delivered on a later iteration.
    loop_.post(alive_, [this, result = std::move(result)]() mutable { finish(std::move(result)); });
}

void AresRequest::detach() {
    cancel_query();
    timer_.reset();
    callback_ = nullptr;
    resolver_ = nullptr;
}

void AresRequest::finish(Result<std::vector<IpAddress>> result) {
    if (!callback_) {
        return;  // detached from a Resolver that has gone
    }
    auto callback = std::exchange(callback_, nullptr);
    // Last statement: the callback may destroy this request.
    callback(std::move(result));
}

void AresRequest::on_timeout(uv_timer_t* timer) noexcept {
    auto* self = owner_of<AresRequest>(timer);
    if (self == nullptr || !self->callback_) {
        return;
    }
    // c-ares keeps the query until its own tries run out; its answer is dropped from now on.
    self->cancel_query();
    self->timer_.reset();
    auto callback = std::exchange(self->callback_, nullptr);
    // Last statement: the callback may destroy this request (closing a timer in its own
    // callback is allowed; the memory goes in the close callback).
    callback(unexpected(lookup_error(self->host_, "i/o timeout")));
}

// ---------------------------------------------------------------------------------------------
// AresResolver

AresResolver::~AresResolver() {
    // Detach first, so that the ARES_EDESTRUCTION callbacks find no request to report to.
    for (auto* request : std::exchange(requests_, {})) {
        request->detach();
    }
    if (channel_ != nullptr) {
        // Calls every outstanding query's callback with ARES_EDESTRUCTION and reports each
        // socket closed through on_sock_state, which erases its poll handle.
        ares_destroy(channel_);
        channel_ = nullptr;
    }
    polls_.clear();
    timer_.reset();
    if (library_initialized_) {
        ares_library_cleanup();
    }
}

Result<void> AresResolver::init(const ResolverOptions& options) {
    int status = ares_library_init(ARES_LIB_INIT_ALL);
    if (status != ARES_SUCCESS) {
        return unexpected(std::string("resolver: ") + ares_strerror(status));
    }
    library_initialized_ = true;

    const int rc =
        timer_.init(this, [this](uv_timer_t* t) { return uv_timer_init(loop_.raw(), t); });
    if (rc != 0) {
        return unexpected(std::string("resolver: timer: ") + uv_strerror(rc));
    }

    // c-ares copies the lookups string; it only needs a mutable pointer by its old signature.
    static char lookups_with_hosts[] = "fb";
    static char lookups_dns_only[] = "b";
    ares_options opts{};
    opts.sock_state_cb = &AresResolver::on_sock_state;
    opts.sock_state_cb_data = this;
    opts.timeout = static_cast<int>(options.attempt_timeout_ms);
    opts.tries = options.tries;
    opts.lookups = options.use_hosts_file ? lookups_with_hosts : lookups_dns_only;
    const int mask =
        ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
    status = ares_init_options(&channel_, &opts, mask);
    if (status != ARES_SUCCESS) {
        channel_ = nullptr;
        return unexpected(std::string("resolver: ") + ares_strerror(status));
    }
    // c-ares sockets are probes' too: one at or above the descriptor ceiling is refused (c-ares
    // closes it and tries the next server), so lookups never take the last descriptors.
    ares_set_socket_callback(
        channel_,
        [](ares_socket_t fd, int /*type*/, void* /*data*/) noexcept {
            return FdBudget::admit(fd) == 0 ? 0 : -1;
        },
        nullptr);

    if (!options.servers.empty()) {
        std::string csv;
        for (const auto& server : options.servers) {
            if (!csv.empty()) {
                csv += ',';
            }
            csv += server;
        }
        status = ares_set_servers_ports_csv(channel_, csv.c_str());
        if (status != ARES_SUCCESS) {
            return unexpected("resolver: servers \"" + csv + "\": " + ares_strerror(status));
        }
    }
    return {};
}

std::unique_ptr<ResolveRequest> AresResolver::resolve(const std::string& host, int family,
                                                      std::uint64_t timeout_ms, Callback callback) {
    auto request = std::make_unique<AresRequest>(loop_, *this, host, std::move(callback));
    requests_.insert(request.get());

    // IP literals are answered here, not by c-ares: c-ares 1.18.1 only recognises a literal of
    // the asked family, and with AF_UNSPEC not even an IPv4 one; everything else it sends to the
    // DNS servers as a name (A and AAAA queries for "127.0.0.1"). A literal of the other family
    // fails as in Go's resolver.
    if (const auto literal = IpAddress::parse(host)) {
        if (family != AF_UNSPEC && literal->family() != family) {
            request->complete(unexpected(lookup_error(host, "no suitable address found")));
        } else {
            request->complete(std::vector<IpAddress>{*literal});
        }
        return request;
    }

    const int rc = request->start_timer(timeout_ms);
    if (rc != 0) {
        request->complete(unexpected(lookup_error(host, uv_strerror(rc))));
        return request;
    }

    ares_addrinfo_hints hints{};
    hints.ai_family = family;
    // on_addrinfo may run before ares_getaddrinfo() returns; it frees the query context and
    // only posts the outcome, so nothing here is touched after the call.
    ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &AresResolver::on_addrinfo,
                     request->attach_query());
    update_timer();
    return request;
}

void AresResolver::on_addrinfo(void* arg, int status, int timeouts,
                               ares_addrinfo* result) noexcept {
    (void)timeouts;
    const std::unique_ptr<AresQuery> query(static_cast<AresQuery*>(arg));
    const AddrinfoPtr info(result);
    AresRequest* request = query->request;
    if (request == nullptr) {
        return;  // cancelled: the request was destroyed or timed out, or the Resolver is going
    }
    request->query_done();
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        // Only ares_destroy()/ares_cancel() produce these, and the Resolver detaches every
        // request before either; the request is left alone.
        return;
    }
    if (status != ARES_SUCCESS) {
        request->complete(unexpected(ares_error_text(request->host(), status)));
        return;
    }
    auto addresses = addresses_of(info.get());
    if (addresses.empty()) {
        request->complete(unexpected(ares_error_text(request->host(), ARES_ENODATA)));
        return;
    }
    request->complete(std::move(addresses));
}

void AresResolver::on_sock_state(void* data, ares_socket_t fd, int readable,
                                 int writable) noexcept {
    static_cast<AresResolver*>(data)->sock_state(fd, readable != 0, writable != 0);
}

void AresResolver::sock_state(ares_socket_t fd, bool readable, bool writable) {
    if (!readable && !writable) {
        polls_.erase(fd);  // c-ares is about to close the socket
        return;
    }
    auto it = polls_.find(fd);
    if (it == polls_.end()) {
        UvHandle<uv_poll_t> poll;
        if (poll.init(this, [this, fd](uv_poll_t* p) {
                return uv_poll_init_socket(loop_.raw(), p, fd);
            }) != 0) {
            return;  // without a poll the query runs into c-ares' timeout and fails
        }
        it = polls_.emplace(fd, std::move(poll)).first;
    }
    const int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
    uv_poll_start(it->second.get(), events, &AresResolver::on_poll);
}

void AresResolver::on_poll(uv_poll_t* handle, int status, int events) noexcept {
    auto* self = owner_of<AresResolver>(handle);
    if (self == nullptr) {
        return;
    }
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd) != 0) {
        return;
    }
    ares_socket_t read_fd = ARES_SOCKET_BAD;
    ares_socket_t write_fd = ARES_SOCKET_BAD;
    if (status < 0) {
        // Let c-ares find the error itself on its next read or write (as node does).
        read_fd = fd;
        write_fd = fd;
    } else {
        if ((events & UV_READABLE) != 0) {
            read_fd = fd;
        }
        if ((events & UV_WRITABLE) != 0) {
            write_fd = fd;
        }
    }
    // May close this very poll handle through on_sock_state; handle is not touched afterwards.
    ares_process_fd(self->channel_, read_fd, write_fd);
    self->update_timer();
}

void AresResolver::on_timer(uv_timer_t* timer) noexcept {
    auto* self = owner_of<AresResolver>(timer);
    if (self == nullptr) {
        return;
    }
    ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    self->update_timer();
}

void AresResolver::update_timer() {
    timeval tv{};
    if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
        uv_timer_stop(timer_.get());
        return;
    }
    const auto ms = static_cast<std::uint64_t>(tv.tv_sec) * 1000 +
                    (static_cast<std::uint64_t>(tv.tv_usec) + 999) / 1000;
    uv_timer_start(timer_.get(), &AresResolver::on_timer, ms, 0);
}

}  // namespace

Result<std::unique_ptr<Resolver>> Resolver::create(Loop& loop, ResolverOptions options) {
    auto resolver = std::make_unique<AresResolver>(loop);
    auto ok = resolver->init(options);
    if (!ok) {
        return unexpected(ok.error());
    }
    return std::unique_ptr<Resolver>(std::move(resolver));
}

}  // namespace sonde::net

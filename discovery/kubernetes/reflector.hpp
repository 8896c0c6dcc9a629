#pragma once

// Reflector: keeps a local copy of one resource in one namespace (or all) up to date by
// list+watch, the way client-go's Reflector does:
//  - list with limit=500, following metadata.continue (a 410 on a continuation restarts the
//    list without limit), then replace the whole store: objects missing from the new list are
//    deleted, so a relist after a gap turns vanished objects into deletions;
//  - watch from the list's resourceVersion with allowWatchBookmarks and a randomised
//    timeoutSeconds, applying ADDED/MODIFIED/DELETED and remembering every event's
//    resourceVersion (bookmarks included); a clean end re-watches from there without relisting;
//  - 410 (HTTP, or an ERROR event) relists (after a backoff when the watch that followed the
//    relist expired again before any event); 429, 5xx and transport errors retry the watch after
//    a backoff (Retry-After when the server gave one); other failures back off and relist; a
//    watch that ends within a second with no event counts as a failure.
// The store only ever changes on data from the API server: the server being down leaves it as
// it was (the last known targets keep being probed).
//
// Objects are not kept: each is turned into its targets by `derive` when it arrives, and only
// its resourceVersion and targets are stored.
//
// Ownership: owned by KubernetesDiscovery; destroying it at any moment cancels its request and
// timers. Loop affinity: the loop's thread only. on_change runs (synchronously, from socket and
// timer callbacks) after every change of the store; it must not destroy the reflector.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "discovery/kubernetes/api_client.hpp"
#include "discovery/kubernetes/backoff.hpp"
#include "discovery/kubernetes/watch_events.hpp"
#include "discovery/target.hpp"
#include "prober/core/logger.hpp"
#include "prober/core/loop.hpp"

namespace sonde::discovery::kubernetes {

// A resource: the URL prefix of its group/version and its plural name.
struct ApiResource {
    std::string group_version_path;  // "/api/v1" or "/apis/networking.k8s.io/v1"
    std::string plural;              // "services"
    std::string kind;                // "Service", for logs
};

const ApiResource& services_resource();
const ApiResource& ingresses_resource();

struct ReflectorOptions {
    ApiResource resource;
    std::string namespace_name;  // "" for all namespaces
    std::string label_selector;
    int page_limit = 500;
    // Watches ask for timeoutSeconds in [min, 2*min) (client-go: 5 min); the client gives up
    // on a watch 30 s after that, which catches half-open connections.
    std::chrono::seconds min_watch_timeout{300};
    std::chrono::milliseconds list_timeout{60000};
    BackoffPolicy backoff;
    // [0, 1); a seeded generator by default.
    std::function<double()> random01;
};

struct ReflectorStats {
    std::uint64_t list_requests = 0;
    std::uint64_t list_errors = 0;
    std::uint64_t watch_requests = 0;
    std::uint64_t watch_errors = 0;
    bool synced = false;           // a list completed once
    bool healthy = false;          // synced, and the last request did not fail
    double last_sync_seconds = 0;  // Unix time of the last list or watch data
};

class Reflector {
public:
    // The targets of one object, or an error to log (the object is then kept without targets).
    using Derive = std::function<Result<TargetSet>(const nlohmann::json& object)>;

    struct Entry {
        std::string resource_version;
        TargetSet targets;
    };
    using Store = std::map<std::string, Entry>;  // by "<namespace>/<name>"

    Reflector(Loop& loop, ApiClient& api, Logger& logger, ReflectorOptions options, Derive derive,
              std::function<void()> on_change);
    ~Reflector();
    Reflector(const Reflector&) = delete;
    Reflector& operator=(const Reflector&) = delete;

    void start();

    const Store& store() const { return store_; }
    const ReflectorStats& stats() const { return stats_; }
    // The resourceVersion the next watch starts from.
    const std::string& resource_version() const { return resource_version_; }
    // "services" or "services in shop", for logs.
    const std::string& name() const { return name_; }

private:
    enum class Next { Relist, Rewatch };

    std::string base_path() const;
    void list_start();
    void list_page();
    void on_list_page(Result<ApiResponse> response);
    void watch_start();
    void on_watch_chunk(std::string_view chunk);
    void on_watch_event(WatchEvent event);
    void on_watch_done(Result<ApiResponse> response);
    // Ends the open watch from inside its chunk callback and continues with `next`.
    void abort_watch(Next next, bool failed);
    void retry_after_failure(Next next, std::chrono::milliseconds retry_after);
    // Counts an expiry; true when the previous watch expired too, with no event between.
    bool expired_again();
    void schedule(std::chrono::milliseconds delay, Next next);
    void apply(const nlohmann::json& object, bool deleted);
    void mark_synced();
    std::chrono::milliseconds now() const;
    static void on_timer(uv_timer_t* timer) noexcept;

    Loop& loop_;
    ApiClient& api_;
    Logger& logger_;
    ReflectorOptions options_;
    Derive derive_;
    std::function<void()> on_change_;
    std::string name_;
    Backoff backoff_;

    Store store_;
    Store listing_;  // the pages of the list in progress
    std::string resource_version_;
    std::string continue_token_;
    bool full_list_ = false;  // the paged list expired: list without limit

    std::unique_ptr<ApiCall> call_;
    JsonStreamFramer framer_;
    std::uint64_t watch_events_ = 0;
    int expired_in_a_row_ = 0;
    std::chrono::milliseconds watch_started_{0};
    // Bumped whenever the current call is dropped: callbacks of an older call (one already
    // handed to defer_delete) find it changed and do nothing.
    std::uint64_t generation_ = 0;

    UvHandle<uv_timer_t> timer_;
    Next next_ = Next::Relist;
    ReflectorStats stats_;
    Alive alive_;
};

}  // namespace sonde::discovery::kubernetes

#include "discovery/kubernetes/reflector.hpp"

#include <charconv>
#include <random>

#include <nlohmann/json.hpp>

#include "prober/core/uv_error.hpp"

namespace sonde::discovery::kubernetes {
namespace {

using namespace std::chrono_literals;

// Long Retry-After values are capped: discovery must not stall for an hour on one answer.
constexpr std::chrono::milliseconds kMaxRetryAfter = 5min;
constexpr std::chrono::milliseconds kWatchGrace = 30s;
constexpr std::chrono::milliseconds kVeryShortWatch = 1s;

std::chrono::milliseconds retry_after_of(const ApiResponse& response) {
    const std::string* value = response.headers.find("Retry-After");
    if (value == nullptr) {
        return 0ms;
    }
    unsigned seconds = 0;
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
    if (ec != std::errc() || end != value->data() + value->size()) {
        return 0ms;  // an HTTP date: fall back to the backoff
    }
    return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
}

bool retry_same_request(int status) {
    return status == 429 || status >= 500;
}

std::function<double()> default_random() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

double unix_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

const ApiResource& services_resource() {
    static const ApiResource resource{"/api/v1", "services", "Service"};
    return resource;
}

const ApiResource& ingresses_resource() {
    static const ApiResource resource{"/apis/networking.k8s.io/v1", "ingresses", "Ingress"};
    return resource;
}

Reflector::Reflector(Loop& loop, ApiClient& api, Logger& logger, ReflectorOptions options,
                     Derive derive, std::function<void()> on_change)
    : loop_(loop),
      api_(api),
      logger_(logger),
      options_(std::move(options)),
      derive_(std::move(derive)),
      on_change_(std::move(on_change)),
      name_(options_.resource.plural +
            (options_.namespace_name.empty() ? "" : " in " + options_.namespace_name)),
      backoff_(options_.backoff,
               options_.random01 ? options_.random01 : (options_.random01 = default_random())) {
}

// The call and the timer go with their members; a deferred call already handed to the loop
// finds its generation outdated.
Reflector::~Reflector() = default;

void Reflector::start() {
    const int rc = timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.raw(), t); });
    if (rc != 0) {
        logger_.error("kubernetes discovery cannot create a timer",
                      {{"resource", name_}, {"err", uv_error_text(rc)}});
        return;
    }
    list_start();
}

std::string Reflector::base_path() const {
    std::string path = options_.resource.group_version_path;
    if (!options_.namespace_name.empty()) {
        path += "/namespaces/" + query_escape(options_.namespace_name);
    }
    return path + "/" + options_.resource.plural;
}

std::chrono::milliseconds Reflector::now() const {
    return std::chrono::milliseconds(uv_now(loop_.raw()));
}

void Reflector::list_start() {
    listing_.clear();
    continue_token_.clear();
    list_page();
}

void Reflector::list_page() {
    std::string query;
    if (!full_list_) {
        query = "limit=" + std::to_string(options_.page_limit);
    }
    if (!options_.label_selector.empty()) {
        query += (query.empty() ? "" : "&") + std::string("labelSelector=") +
                 query_escape(options_.label_selector);
    }
    if (!continue_token_.empty()) {
        query +=
            (query.empty() ? "" : "&") + std::string("continue=") + query_escape(continue_token_);
    }
    ++stats_.list_requests;
    const std::uint64_t generation = ++generation_;
    call_ = api_.get(base_path() + (query.empty() ? "" : "?" + query), options_.list_timeout,
                     [this, generation](Result<ApiResponse> response) {
                         if (generation == generation_) {
                             on_list_page(std::move(response));
                         }
                     });
}

void Reflector::on_list_page(Result<ApiResponse> response) {
    loop_.defer_delete(std::move(call_));
    if (!response) {
        ++stats_.list_errors;
        logger_.warn("kubernetes list failed", {{"resource", name_}, {"err", response.error()}});
        retry_after_failure(Next::Relist, 0ms);
        return;
    }
    if (response->status == 200) {
        auto page = parse_list_page(response->body);
        if (!page) {
            ++stats_.list_errors;
            logger_.warn("kubernetes list failed", {{"resource", name_}, {"err", page.error()}});
            retry_after_failure(Next::Relist, 0ms);
            return;
        }
        for (const nlohmann::json& item : page->items) {
            const std::string key = object_key(item);
            if (key.empty()) {
                continue;
            }
            Entry entry;
            entry.resource_version = resource_version_of(item);
            auto targets = derive_(item);
            if (targets) {
                entry.targets = std::move(*targets);
            } else {
                logger_.warn("skipping Kubernetes object", {{"kind", options_.resource.kind},
                                                            {"object", key},
                                                            {"reason", targets.error()}});
            }
            listing_[key] = std::move(entry);
        }
        if (!page->continue_token.empty()) {
            continue_token_ = page->continue_token;
            list_page();
            return;
        }
        store_ = std::move(listing_);
        listing_.clear();
        resource_version_ = page->resource_version;
        full_list_ = false;
        continue_token_.clear();
        mark_synced();
        logger_.debug("kubernetes list done",
                      {{"resource", name_}, {"resource_version", resource_version_}});
        on_change_();
        watch_start();
        return;
    }
    const ApiStatus status = status_from_body(response->status, response->body);
    if (is_expired(status) && !continue_token_.empty()) {
        // The continue token outlived its snapshot: list everything in one go, as client-go's
        // pager does.
        logger_.info("kubernetes list continuation expired, listing without limit",
                     {{"resource", name_}});
        full_list_ = true;
        list_start();
        return;
    }
    ++stats_.list_errors;
    logger_.warn("kubernetes list failed", {{"resource", name_},
                                            {"status", std::to_string(response->status)},
                                            {"reason", status.reason},
                                            {"err", status.message}});
    retry_after_failure(Next::Relist, retry_after_of(*response));
}

void Reflector::watch_start() {
    const double random = std::clamp(options_.random01(), 0.0, 1.0);
    const auto min_seconds = options_.min_watch_timeout.count();
    const auto timeout_seconds =
        min_seconds + static_cast<std::int64_t>(static_cast<double>(min_seconds) * random);
    std::string query =
        "watch=1&resourceVersion=" + query_escape(resource_version_) +
        "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout_seconds);
    if (!options_.label_selector.empty()) {
        query += "&labelSelector=" + query_escape(options_.label_selector);
    }
    ++stats_.watch_requests;
    framer_.reset();
    watch_events_ = 0;
    watch_started_ = now();
    const std::uint64_t generation = ++generation_;
    call_ = api_.stream(
        base_path() + "?" + query, std::chrono::seconds(timeout_seconds) + kWatchGrace,
        [this, generation] {
            // The server accepted the watch: healthy again, though nothing new was learnt yet
            // (last_sync_seconds moves with data only).
            if (generation == generation_) {
                stats_.healthy = stats_.synced;
            }
        },
        [this, generation](std::string_view chunk) {
            if (generation == generation_) {
                on_watch_chunk(chunk);
            }
        },
        [this, generation](Result<ApiResponse> response) {
            if (generation == generation_) {
                on_watch_done(std::move(response));
            }
        });
}

void Reflector::on_watch_chunk(std::string_view chunk) {
    const std::uint64_t generation = generation_;
    std::string bad_event;
    auto fed = framer_.feed(chunk, [&](std::string_view value) {
        if (generation != generation_ || !bad_event.empty()) {
            return;  // the watch ended on an earlier event of this chunk
        }
        auto event = parse_watch_event(value);
        if (!event) {
            bad_event = event.error();
            return;
        }
        on_watch_event(std::move(*event));
    });
    if (generation != generation_) {
        return;
    }
    if (!fed || !bad_event.empty()) {
        ++stats_.watch_errors;
        logger_.warn("kubernetes watch sent bad data, relisting",
                     {{"resource", name_}, {"err", fed ? bad_event : fed.error()}});
        abort_watch(Next::Relist, true);
    }
}

bool Reflector::expired_again() {
    // A relist right after expiry is normal; a watch from a fresh list that expires again
    // before any event is a server in trouble, and relisting at once would hot-loop.
    return ++expired_in_a_row_ > 1;
}

void Reflector::on_watch_event(WatchEvent event) {
    ++watch_events_;
    if (event.type != WatchEventType::Error) {
        expired_in_a_row_ = 0;
    }
    switch (event.type) {
        case WatchEventType::Added:
        case WatchEventType::Modified:
        case WatchEventType::Deleted:
            apply(event.object, event.type == WatchEventType::Deleted);
            resource_version_ = std::move(event.resource_version);
            mark_synced();
            return;
        case WatchEventType::Bookmark:
            resource_version_ = std::move(event.resource_version);
            mark_synced();
            return;
        case WatchEventType::Error:
            break;
    }
    const ApiStatus status = status_from_json(event.object);
    if (is_expired(status)) {
        logger_.info("kubernetes watch expired, relisting",
                     {{"resource", name_}, {"err", status.message}});
        abort_watch(Next::Relist, expired_again());
        return;
    }
    ++stats_.watch_errors;
    logger_.warn("kubernetes watch ended with an error", {{"resource", name_},
                                                          {"code", std::to_string(status.code)},
                                                          {"reason", status.reason},
                                                          {"err", status.message}});
    abort_watch(retry_same_request(status.code) ? Next::Rewatch : Next::Relist, true);
}

void Reflector::abort_watch(Next next, bool failed) {
    // Inside the call's chunk callback: the call may not be destroyed here, only handed over.
    ++generation_;
    loop_.defer_delete(std::move(call_));
    if (failed) {
        retry_after_failure(next, 0ms);
    } else {
        schedule(0ms, next);
    }
}

void Reflector::on_watch_done(Result<ApiResponse> response) {
    loop_.defer_delete(std::move(call_));
    ++generation_;
    if (!response) {
        ++stats_.watch_errors;
        logger_.warn("kubernetes watch failed", {{"resource", name_}, {"err", response.error()}});
        retry_after_failure(Next::Rewatch, 0ms);
        return;
    }
    if (response->status == 200) {
        if (watch_events_ == 0 && now() - watch_started_ < kVeryShortWatch) {
            ++stats_.watch_errors;
            logger_.warn("kubernetes watch closed within a second without events",
                         {{"resource", name_}});
            retry_after_failure(Next::Rewatch, 0ms);
            return;
        }
        logger_.debug("kubernetes watch ended, watching again",
                      {{"resource", name_}, {"resource_version", resource_version_}});
        watch_start();
        return;
    }
    const ApiStatus status = status_from_body(response->status, response->body);
    if (is_expired(status)) {
        logger_.info("kubernetes watch expired, relisting",
                     {{"resource", name_}, {"err", status.message}});
        if (expired_again()) {
            retry_after_failure(Next::Relist, 0ms);
        } else {
            list_start();
        }
        return;
    }
    ++stats_.watch_errors;
    logger_.warn("kubernetes watch failed", {{"resource", name_},
                                             {"status", std::to_string(response->status)},
                                             {"reason", status.reason},
                                             {"err", status.message}});
    retry_after_failure(retry_same_request(response->status) ? Next::Rewatch : Next::Relist,
                        retry_after_of(*response));
}

void Reflector::retry_after_failure(Next next, std::chrono::milliseconds retry_after) {
    stats_.healthy = false;
    const std::chrono::milliseconds backoff = backoff_.next(now());
    schedule(retry_after.count() > 0 ? retry_after : backoff, next);
}

void Reflector::schedule(std::chrono::milliseconds delay, Next next) {
    next_ = next;
    if (timer_) {
        uv_timer_start(timer_.get(), &Reflector::on_timer,
                       static_cast<std::uint64_t>(delay.count()), 0);
    }
}

void Reflector::on_timer(uv_timer_t* timer) noexcept {
    auto* self = owner_of<Reflector>(timer);
    if (self == nullptr) {
        return;
    }
    if (self->next_ == Next::Relist) {
        self->list_start();
    } else {
        self->watch_start();
    }
}

void Reflector::apply(const nlohmann::json& object, bool deleted) {
    const std::string key = object_key(object);
    if (key.empty()) {
        return;
    }
    if (deleted) {
        if (store_.erase(key) != 0) {
            on_change_();
        }
        return;
    }
    Entry entry;
    entry.resource_version = resource_version_of(object);
    auto targets = derive_(object);
    if (targets) {
        entry.targets = std::move(*targets);
    } else {
        logger_.warn(
            "skipping Kubernetes object",
            {{"kind", options_.resource.kind}, {"object", key}, {"reason", targets.error()}});
    }
    auto [it, inserted] = store_.try_emplace(key);
    const bool changed = inserted || it->second.targets != entry.targets;
    it->second = std::move(entry);
    if (changed) {
        on_change_();
    }
}

void Reflector::mark_synced() {
    stats_.synced = true;
    stats_.healthy = true;
    stats_.last_sync_seconds = unix_seconds();
}

}  // namespace sonde::discovery::kubernetes

#pragma once

// FakeKubeApi: a Kubernetes API server double for tests of Kubernetes discovery, faithful
// enough that a real kubectl accepts it (tests/integration/fake_kube_api_kubectl_test.cpp).
//
// What it serves, on https://127.0.0.1:<port> (port 0 picked by the kernel, kept across
// stop()/restart()), with a server certificate signed by its own test CA (ca_pem()):
//  - discovery: /version, /api, /api/v1, /apis, /apis/networking.k8s.io,
//    /apis/networking.k8s.io/v1 (legacy discovery documents, Content-Type application/json),
//    /healthz, /readyz, /livez;
//  - Services:  /api/v1/services, /api/v1/namespaces/{ns}/services[/{name}];
//  - Ingresses: /apis/networking.k8s.io/v1/ingresses, .../namespaces/{ns}/ingresses[/{name}].
// Lists honour limit/continue (opaque token holding the snapshot resourceVersion; 410 Expired
// once that is compacted), labelSelector (=, ==, !=, key, !key, in, notin), fieldSelector
// (metadata.name, metadata.namespace) and resourceVersion (an exact snapshot with limit, as the
// real server). watch=1|true streams newline-delimited JSON events in HTTP/1.1 chunks:
// resourceVersion unset or "0" starts with a synthetic ADDED per object, "N" replays history
// after N, a compacted N answers one ERROR event holding a 410 Expired Status (or a plain HTTP
// 410, see set_expired_watch_as_http_410); allowWatchBookmarks=true enables BOOKMARK events
// (send_bookmarks(), or every bookmark_interval_ms); timeoutSeconds ends the stream cleanly.
// Selector transitions are translated as the real cacher does (starts matching: ADDED, stops:
// DELETED). sendInitialEvents (watch-list) is refused with 422, as a server without the
// WatchList gate does, so that clients fall back to list+watch.
//
// Authentication: every request needs `Authorization: Bearer <token>` with one of the accepted
// tokens (set_token/set_tokens, changeable at any time), else 401 with an Unauthorized Status;
// /version, /healthz, /readyz and /livez are open to requests without credentials, as the real
// server's system:public-info-viewer role allows.
//
// Threading: the server runs its own Loop on its own thread. Every public method is called
// from the test's thread (any thread but the server's) and is thread-safe. Mutations return
// once the object store changed; connected watches receive the events shortly after, on the
// server's thread. Accessors never block, so a test that runs its own loop (a discovery client
// under test) polls them from LoopFixture::run_until; the wait_* methods block and suit tests
// whose client is another process (kubectl). Counters and the request log are updated before
// the response that reflects them is written, so a client loop woken by that response sees
// them; a condition that no response announces (a stalled watch) needs a ticking timer to
// wake the test's loop.
//
// Ownership: the test owns the FakeKubeApi; destroying it stops the thread and closes every
// connection (clients see the connection reset or end).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace sonde::test {

enum class KubeKind { Service, Ingress };

// "services" / "ingresses"
std::string kube_resource_name(KubeKind kind);

struct FakeKubeApiOptions {
    // HTTPS (the default) or plain HTTP. Real clients send tokens only over HTTPS.
    bool tls = true;
    // The accepted bearer token at start.
    std::string token = "fake-kube-token";
    // The /version document's minor (a kubectl dispatcher picks its kubectl by it).
    std::string version_minor = "29";
    // Watches without timeoutSeconds end after this long (the real server: 30 to 60 minutes).
    std::uint64_t default_watch_timeout_s = 1800;
};

// How watch events are framed in HTTP chunks.
struct WatchFraming {
    // Each event is cut into this many chunks of about equal size (1: one chunk per event).
    int pieces_per_event = 1;
    // Wait this long between the pieces of one event (0: written back to back, each piece its
    // own TLS record and chunk).
    std::uint64_t piece_delay_ms = 0;
    // Events that are ready together go out in one chunk (kube-apiserver flushes per event;
    // this imitates a proxy that coalesces).
    bool coalesce = false;
};

// Which resource requests a scripted failure hits.
enum class KubeVerb { Any, List, Watch, Get };

// Requests by resource, counted when they pass authentication.
struct KubeRequestCounts {
    std::uint64_t list = 0;
    std::uint64_t watch = 0;
    std::uint64_t get = 0;  // a single object
};

// One request as the fake received it (every request, before authentication).
struct RecordedRequest {
    std::string method;
    std::string path;   // percent-decoded
    std::string query;  // raw, as sent
    std::vector<std::pair<std::string, std::string>> headers;
    int status = 0;  // what the fake answered (200 for a watch stream)

    // The first value of a header (case-insensitive), or "" when absent.
    std::string header(const std::string& name) const;
    // The first value of a decoded query parameter, or nullopt when absent.
    std::optional<std::string> param(const std::string& key) const;
};

class FakeKubeApi {
public:
    explicit FakeKubeApi(FakeKubeApiOptions options = {});
    ~FakeKubeApi();
    FakeKubeApi(const FakeKubeApi&) = delete;
    FakeKubeApi& operator=(const FakeKubeApi&) = delete;

    // ---- Where and how to connect ----
    std::uint16_t port() const;
    // "https://127.0.0.1:<port>" (http:// without TLS).
    std::string url() const;
    // The CA that signed the server certificate (IP SAN 127.0.0.1 and ::1, DNS localhost and
    // kubernetes.default.svc).
    const std::string& ca_pem() const { return ca_pem_; }
    // A kubeconfig naming this server, its CA (inline, base64) and the current token, with
    // `namespace` as the context's default namespace.
    std::string kubeconfig(const std::string& namespace_name = "default") const;

    // ---- Authentication ----
    std::string token() const;  // the first accepted token
    void set_token(std::string token);
    // Several accepted tokens at once (overlap during a rotation); empty: nothing is accepted.
    void set_tokens(std::vector<std::string> tokens);

    // ---- Object store ----
    // Creates or replaces an object (matched by metadata.namespace, default "default", and
    // metadata.name, required) and emits ADDED or MODIFIED. Fills kind, apiVersion, uid (kept
    // across updates), creationTimestamp (kept) and a new resourceVersion from the global
    // counter. Returns the stored object as a GET would return it. Throws
    // std::invalid_argument for a non-object or a missing name.
    nlohmann::json put_service(nlohmann::json object);
    nlohmann::json put_ingress(nlohmann::json object);
    nlohmann::json put_object(KubeKind kind, nlohmann::json object);
    // Deletes an object and emits DELETED (its last state, stamped with the deletion's
    // resourceVersion). False when there was no such object.
    bool delete_object(KubeKind kind, const std::string& namespace_name, const std::string& name);
    // The stored object or nullopt.
    std::optional<nlohmann::json> get_object(KubeKind kind, const std::string& namespace_name,
                                             const std::string& name) const;
    std::size_t object_count(KubeKind kind) const;
    // The global resourceVersion counter (what a list made now reports).
    std::uint64_t resource_version() const;
    // Forgets the history: resourceVersions older than the current one get 410 Expired (watch
    // and continue tokens). Open watches keep streaming.
    void compact();
    // The oldest resourceVersion still watchable.
    std::uint64_t compacted_resource_version() const;

    // ---- Watches ----
    // Ends every open watch stream cleanly (terminating chunk) after its pending events; the
    // connections stay open for keep-alive. Stalled watches (set_stall_watches) are closed.
    void close_watches();
    // Closes every connection carrying a watch at once, without the terminating chunk (the
    // client sees an incomplete chunked body). Stalled watches too.
    void reset_watches();
    // Sends a BOOKMARK with the current resourceVersion on every open watch that asked for
    // bookmarks (after pending events).
    void send_bookmarks();
    // Periodic bookmarks on watches that asked for them (0: only send_bookmarks()). Applies to
    // watches started afterwards.
    void set_bookmark_interval_ms(std::uint64_t ms);
    void set_watch_framing(WatchFraming framing);
    // Expired watches get a plain HTTP 410 with a Status body instead of 200 + ERROR event.
    void set_expired_watch_as_http_410(bool on);
    // While on, watch requests are read (and counted) but get no answer at all, not even
    // headers, and their connections stay open: a hung API server or a half-open connection,
    // for clients' read deadlines. reset_watches() and close_watches() close them.
    void set_stall_watches(bool on);
    // Lists return at most this many items per page even when asked for more or for no limit
    // (0: no cap), with a continue token, as a server may.
    void set_max_page_size(std::size_t n);
    // Open watch streams now (of one kind, or all).
    std::size_t open_watches(std::optional<KubeKind> kind = std::nullopt) const;

    // ---- Failures ----
    // The next n resource requests (list, watch, get; not discovery) fail with `status` and a
    // Status body of the matching reason (429 TooManyRequests, 500 InternalError, 503
    // ServiceUnavailable, 403 Forbidden, 504 Timeout, ...), with `Retry-After:
    // retry_after_s` when retry_after_s > 0. With a verb (and kind), only such requests count
    // and fail; others pass. A new call replaces what is left of the previous one.
    void fail_next(int n, int status, int retry_after_s = 0, KubeVerb verb = KubeVerb::Any,
                   std::optional<KubeKind> kind = std::nullopt);

    // The next n resource requests (as fail_next counts them, and replacing what is left of
    // it) are answered 200 with a body cut off in the middle of a JSON object: a list that
    // does not parse, or a watch whose first line is not an event.
    void corrupt_next(int n, KubeVerb verb = KubeVerb::Any,
                      std::optional<KubeKind> kind = std::nullopt);
    // Every answer that is not a watch stream (lists, gets, errors) is held back this long
    // before it is written: a slow or overloaded API server (0: answer at once).
    void set_response_delay_ms(std::uint64_t ms);

    // ---- The server itself ----
    // Closes the listener and every connection (clients get connection refused meanwhile);
    // the store is kept, as etcd outlives an API server restart.
    void stop();
    // Listens again on the same port (after stop(); on a running server it first closes every
    // connection, as a restart does). Returns false if the port could not be bound.
    bool restart();
    bool running() const;

    // ---- Observations ----
    KubeRequestCounts counts(KubeKind kind) const;
    std::uint64_t unauthorized_count() const;
    std::uint64_t total_requests() const;
    // Every request received, oldest first.
    std::vector<RecordedRequest> requests() const;
    // The last request (of one kind, when given); a default RecordedRequest if none.
    RecordedRequest last_request(std::optional<KubeKind> kind = std::nullopt) const;
    // Connections accepted since start (TLS handshakes included, failed ones too).
    std::uint64_t connections_accepted() const;

    // Blocking waits for tests whose client is another process. True when the condition
    // holds before the timeout.
    bool wait_for_watches(std::size_t n, std::chrono::milliseconds timeout,
                          std::optional<KubeKind> kind = std::nullopt) const;
    bool wait_until(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout) const;

    struct State;  // defined in the .cpp, shared with the server thread
    class Server;  // lives on the server thread

private:
    // Runs fn on the server's thread and waits for it.
    void run_on_server(std::function<void(Server&)> fn) const;

    FakeKubeApiOptions options_;
    std::string ca_pem_;
    std::shared_ptr<State> state_;
    std::thread thread_;
};

}  // namespace sonde::test

#pragma once

// Loop: owns the libuv event loop that runs everything in sonde.
//
// One thread, one Loop; every method is called on that thread. post() runs a task on a later
// iteration (never synchronously), which is how completion callbacks avoid re-entering their
// caller. defer_delete() destroys an object on a later iteration, so an object is never
// destroyed inside its own callback stack (Envoy's deferred delete).
//
// Destruction: owners destroy their objects first (which closes their handles); then close()
// closes the Loop's own handles, runs the loop until every close callback has run, and returns
// uv_loop_close()'s result: 0 when nothing leaked, UV_EBUSY when some handle is still open.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <uv.h>

#include "prober/core/uv_handle.hpp"

namespace sonde {

// Alive: a token an object holds so that work it posted can tell whether it still exists.
// A posted task captures alive.watch() and does nothing once the owner (and its token) is gone.
class Alive {
public:
    std::weak_ptr<const char> watch() const { return token_; }

private:
    std::shared_ptr<const char> token_ = std::make_shared<const char>('\0');
};

class Loop {
public:
    Loop();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    uv_loop_t* raw() { return loop_.get(); }

    // Runs until stop() or until nothing is left to do.
    void run();
    // Runs one iteration without blocking; for tests that step the loop.
    void run_once_nowait();
    void stop();

    // Runs task on a later loop iteration, in posting order.
    void post(std::function<void()> task);
    // Runs task later only if the owner of `alive` still exists then.
    void post(const Alive& alive, std::function<void()> task);

    // Destroys object on a later loop iteration.
    template <class T>
    void defer_delete(std::unique_ptr<T> object) {
        if (object) {
            doomed_.emplace_back(object.release(), [](void* p) { delete static_cast<T*>(p); });
            wake();
        }
    }

    // Closes the Loop's own handles, drains pending work and close callbacks, and closes the
    // libuv loop. Returns 0, or UV_EBUSY when handles owned by someone else are still open.
    int close();

    // Nanoseconds the loop has spent waiting for events since it started (uv_metrics_idle_time):
    // what is left of the wall time was spent working.
    std::uint64_t idle_time_ns() { return uv_metrics_idle_time(loop_.get()); }

    // Monotonic nanoseconds (uv_hrtime); phase times are taken with this at the event itself.
    static std::uint64_t now_ns() { return uv_hrtime(); }

private:
    static void on_idle(uv_idle_t* handle) noexcept;
    void wake();
    void drain();

    std::unique_ptr<uv_loop_t> loop_;
    // Active only while work is pending, so that the loop does not block in poll meanwhile.
    UvHandle<uv_idle_t> idle_;
    std::vector<std::function<void()>> posted_;
    std::vector<std::unique_ptr<void, void (*)(void*)>> doomed_;
    bool closed_ = false;
};

}  // namespace sonde

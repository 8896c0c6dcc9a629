#include "prober/core/loop.hpp"

#include <cassert>
#include <cstdlib>
#include <utility>

namespace sonde {

Loop::Loop() : loop_(std::make_unique<uv_loop_t>()) {
    if (uv_loop_init(loop_.get()) != 0) {
        std::abort();  // Only fails on resource exhaustion at startup.
    }
    // Idle-time accounting, for the loop utilisation sonde exports (a prober must say when it is
    // too busy to measure truthfully). Costs two clock reads per poll.
    (void)uv_loop_configure(loop_.get(), UV_METRICS_IDLE_TIME);
    if (idle_.init(this, [this](uv_idle_t* h) { return uv_idle_init(loop_.get(), h); }) != 0) {
        std::abort();
    }
}

Loop::~Loop() {
    if (!closed_) {
        // An owner that forgot a handle must not make the destructor hang or free memory that
        // libuv still uses: close whatever is left, then let the callbacks run.
        (void)close();
        if (!closed_) {
            uv_walk(
                loop_.get(),
                [](uv_handle_t* h, void*) {
                    if (uv_is_closing(h) == 0) {
                        uv_close(h, nullptr);
                    }
                },
                nullptr);
            uv_run(loop_.get(), UV_RUN_DEFAULT);
            (void)uv_loop_close(loop_.get());
        }
    }
}

void Loop::run() {
    uv_run(loop_.get(), UV_RUN_DEFAULT);
}

void Loop::run_once_nowait() {
    uv_run(loop_.get(), UV_RUN_NOWAIT);
}

void Loop::stop() {
    uv_stop(loop_.get());
}

void Loop::post(std::function<void()> task) {
    posted_.push_back(std::move(task));
    wake();
}

void Loop::post(const Alive& alive, std::function<void()> task) {
    post([watch = alive.watch(), task = std::move(task)] {
        if (!watch.expired()) {
            task();
        }
    });
}

void Loop::wake() {
    if (idle_ && uv_is_active(idle_.as_handle()) == 0) {
        uv_idle_start(idle_.get(), &Loop::on_idle);
    }
}

void Loop::on_idle(uv_idle_t* handle) noexcept {
    auto* self = owner_of<Loop>(handle);
    if (self != nullptr) {
        self->drain();
    }
}

void Loop::drain() {
    // Swap first: work queued while draining belongs to the next iteration, so a task that
    // re-posts itself cannot starve I/O.
    auto tasks = std::exchange(posted_, {});
    auto doomed = std::exchange(doomed_, {});
    for (auto& task : tasks) {
        task();
    }
    doomed.clear();
    if (posted_.empty() && doomed_.empty() && idle_) {
        uv_idle_stop(idle_.get());
    }
}

int Loop::close() {
    if (closed_) {
        return 0;
    }
    // Pending tasks and deletions may themselves close handles; run them until none remain.
    for (int round = 0; round < 16 && (!posted_.empty() || !doomed_.empty()); ++round) {
        drain();
    }
    idle_.reset();
    // Let every close callback run. UV_RUN_NOWAIT never blocks, so a leaked active handle
    // shows up as UV_EBUSY below instead of hanging here.
    for (int round = 0; round < 16; ++round) {
        if (uv_run(loop_.get(), UV_RUN_NOWAIT) == 0) {
            break;
        }
    }
    const int rc = uv_loop_close(loop_.get());
    closed_ = (rc == 0);
    return rc;
}

}  // namespace sonde

#pragma once

// UvHandle<T>: sole ownership of one libuv handle.
//
// libuv may still touch a handle after uv_close() until its close callback has run, so a handle
// is never embedded by value in an object that can die first. UvHandle heap-allocates the T,
// points handle->data at its owner, and on destruction clears data and calls uv_close(); the
// memory is freed only in the close callback. Trampolines therefore load the owner from data and
// return at once when it is null: the owner is gone and the event is moot.
//
// Loop affinity: create, use and destroy on the loop's thread.

#include <utility>

#include <uv.h>

namespace sonde {

template <class T>
class UvHandle {
public:
    UvHandle() = default;
    ~UvHandle() { reset(); }
    UvHandle(const UvHandle&) = delete;
    UvHandle& operator=(const UvHandle&) = delete;
    UvHandle(UvHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    UvHandle& operator=(UvHandle&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }

    // Allocates the handle and runs init_fn(handle) (a uv_*_init call). Returns 0 or the libuv
    // error, in which case this stays empty and nothing needs closing.
    template <class InitFn>
    int init(void* owner, InitFn&& init_fn) {
        reset();
        auto* handle = new T{};
        const int rc = std::forward<InitFn>(init_fn)(handle);
        if (rc != 0) {
            delete handle;
            return rc;
        }
        handle->data = owner;
        handle_ = handle;
        return 0;
    }

    // Detaches the owner and closes the handle; the memory goes in the close callback.
    void reset() {
        if (handle_ == nullptr) {
            return;
        }
        handle_->data = nullptr;
        uv_close(reinterpret_cast<uv_handle_t*>(handle_), &UvHandle::on_close);
        handle_ = nullptr;
    }

    T* get() const { return handle_; }
    T* operator->() const { return handle_; }
    explicit operator bool() const { return handle_ != nullptr; }
    uv_handle_t* as_handle() const { return reinterpret_cast<uv_handle_t*>(handle_); }
    uv_stream_t* as_stream() const { return reinterpret_cast<uv_stream_t*>(handle_); }

private:
    static void on_close(uv_handle_t* handle) noexcept { delete reinterpret_cast<T*>(handle); }

    T* handle_ = nullptr;
};

// Loads the owner of a handle inside a trampoline; null when the owner has gone.
template <class Owner, class Handle>
Owner* owner_of(Handle* handle) {
    return static_cast<Owner*>(handle->data);
}

}  // namespace sonde

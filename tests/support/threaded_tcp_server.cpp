#include "tests/support/threaded_tcp_server.hpp"

#include <future>

#include "prober/core/loop.hpp"
#include "tests/support/scripted_tcp_server.hpp"

namespace sonde::test {

ThreadedTcpServer::ThreadedTcpServer(std::string greeting) : greeting_(std::move(greeting)) {
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready] {
        Loop loop;
        {
            ScriptedTcpServer server(loop, greeting_);
            server.close_after_greeting();
            port_ = server.port();
            ready.set_value();
            // Poll the stop flag every 20 ms; a test server needs no faster shutdown.
            UvHandle<uv_timer_t> ticker;
            (void)ticker.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop.raw(), t); });
            uv_timer_start(
                ticker.get(),
                [](uv_timer_t* t) {
                    auto* self = static_cast<ThreadedTcpServer*>(t->data);
                    if (self != nullptr && self->stop_.load()) {
                        uv_stop(t->loop);
                    }
                },
                20, 20);
            loop.run();
        }
        (void)loop.close();
    });
    started.wait();
}

ThreadedTcpServer::~ThreadedTcpServer() {
    stop_ = true;
    thread_.join();
}

}  // namespace sonde::test

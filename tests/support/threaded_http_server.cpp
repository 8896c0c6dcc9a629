#include "tests/support/threaded_http_server.hpp"

#include <future>

#include <uv.h>

#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"
#include "prober/net/http_server.hpp"

namespace sonde::test {

ThreadedHttpServer::ThreadedHttpServer(Handler handler) : handler_(std::move(handler)) {
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready] {
        Loop loop;
        {
            net::HttpServer server(
                loop, [this](const net::HttpRequest& request, net::HttpResponder responder) {
                    responder.respond(handler_(request));
                });
            // A failed listen leaves port 0, which the test's first request then reports.
            (void)server.listen("127.0.0.1:0");
            port_ = server.bound_port();
            ready.set_value();
            // Poll the stop flag every 20 ms; a test server needs no faster shutdown.
            UvHandle<uv_timer_t> ticker;
            (void)ticker.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop.raw(), t); });
            uv_timer_start(
                ticker.get(),
                [](uv_timer_t* t) {
                    auto* self = static_cast<ThreadedHttpServer*>(t->data);
                    if (self != nullptr && self->stop_.load()) {
                        uv_stop(t->loop);
                    }
                },
                20, 20);
            loop.run();
            server.stop();
        }
        (void)loop.close();
    });
    started.wait();
}

ThreadedHttpServer::~ThreadedHttpServer() {
    stop_ = true;
    thread_.join();
}

}  // namespace sonde::test

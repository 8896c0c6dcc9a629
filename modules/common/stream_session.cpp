#include "modules/common/stream_session.hpp"

namespace sonde::modules {

void StreamSession::fail_later(FailureKind kind, const char* message, std::string reason) {
    if (message[0] != '\0') {
        ctx_.log.error(message, {{"err", reason}});
    }
    ctx_.loop.post(alive_, [this, kind, reason = std::move(reason)]() mutable {
        finish(ProbeOutcome::fail(kind, std::move(reason)));
    });
}

void StreamSession::finish(ProbeOutcome outcome) {
    if (finished_) {
        return;
    }
    finished_ = true;
    if (channel_) {
        channel_->stop();
    }
    if (stream_) {
        stream_->close();
    }
    auto done = std::move(done_);
    done(std::move(outcome));  // last statement: the runner may now delete this session
}

}  // namespace sonde::modules

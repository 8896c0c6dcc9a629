#include "modules/probe.hpp"

#include <uv.h>

namespace sonde::modules {

const char* failure_kind_name(FailureKind kind) {
    switch (kind) {
        case FailureKind::None:
            return "";
        case FailureKind::Resolve:
            return "resolve";
        case FailureKind::Connect:
            return "connect";
        case FailureKind::Tls:
            return "tls";
        case FailureKind::Timeout:
            return "timeout";
        case FailureKind::Protocol:
            return "protocol";
        case FailureKind::Validation:
            return "validation";
        case FailureKind::Internal:
            return "internal";
        case FailureKind::Denied:
            return "denied";
    }
    return "internal";
}

std::uint64_t ProbeContext::remaining_ms() const {
    const std::uint64_t now = uv_hrtime();
    return now >= deadline_ns ? 0 : (deadline_ns - now) / 1000000;
}

}  // namespace sonde::modules

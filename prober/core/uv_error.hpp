#pragma once

// The one conversion of a libuv status into text for logs and probe failure details:
// "ECONNREFUSED: connection refused".

#include <string>

#include <uv.h>

namespace sonde {

inline std::string uv_error_text(int status) {
    return std::string(uv_err_name(status)) + ": " + uv_strerror(status);
}

}  // namespace sonde

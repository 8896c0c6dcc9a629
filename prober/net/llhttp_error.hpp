#pragma once

// The text of an llhttp parse error, for the client's and the server's messages alike.

#include <string>

#include <llhttp.h>

namespace sonde::net {

// "HPE_INVALID_HEADER_TOKEN: Invalid header value char": the error's name, then llhttp's reason.
inline std::string llhttp_error_text(const llhttp_t& parser, llhttp_errno_t err) {
    const char* reason = llhttp_get_error_reason(&parser);
    return std::string(llhttp_errno_name(err)) + ": " + (reason != nullptr ? reason : "");
}

}  // namespace sonde::net

#include "prober/net/tls_errors.hpp"

#include <array>

#include <openssl/err.h>

namespace sonde::net {

std::string drain_openssl_errors() {
    std::string text;
    // ERR_get_error_all also returns the "data" string that some errors attach (for example the
    // file name of a failed fopen), which is often the part a person needs to act on.
    const char* data = nullptr;
    int flags = 0;
    for (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
         code != 0; code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
        std::array<char, 256> buffer{};
        ERR_error_string_n(code, buffer.data(), buffer.size());
        if (!text.empty()) {
            text += "; ";
        }
        text += buffer.data();
        if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
            text += " (";
            text += data;
            text += ")";
        }
    }
    return text;
}

int peek_openssl_reason() {
    return ERR_GET_REASON(ERR_peek_error());
}

}  // namespace sonde::net

#pragma once

// Secrets inside URLs (a proxy_url's password) shown as Go's URL.Redacted() shows them:
// "http://user:xxxxx@proxy:3128". Used wherever such a URL reaches /config, debug output, logs or
// an error message.

#include <string>
#include <string_view>

namespace sonde::config {

// The URL with the password of its userinfo replaced by "xxxxx"; unchanged when it has none.
// Works on the text (no full parse), so it also redacts URLs that do not parse.
std::string redact_url(std::string_view url);

// text with every occurrence of url replaced by redact_url(url): for error messages that quote
// the URL they failed on.
std::string redact_url_in(std::string text, std::string_view url);

}  // namespace sonde::config

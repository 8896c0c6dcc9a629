#pragma once

// Header-name canonicalisation as Go's textproto.CanonicalMIMEHeaderKey, which the exporter
// applies to `headers:` (Header.Set), to the names of header matchers and to the http_headers
// and websocket `headers` it adds (Header.Add).

#include <string>
#include <string_view>

namespace sonde::modules {

// "content-type" -> "Content-Type", "X-FOO-bar" -> "X-Foo-Bar". A name holding a byte that is
// not a token character (a space, a colon...) is returned unchanged, as Go does.
std::string canonical_header_key(std::string_view name);

}  // namespace sonde::modules

#pragma once

// The one conversion from OpenSSL's per-thread error queue to sonde's error text.
//
// OpenSSL reports failures by pushing entries on a thread-local queue instead of returning them.
// Every TLS step therefore calls ERR_clear_error() first (so stale entries from an earlier,
// unrelated call cannot be blamed on it) and drains the queue into the error text afterwards
// (so nothing is left behind for the next step on this thread).

#include <string>

namespace sonde::net {

// Pops every entry of the calling thread's OpenSSL error queue and returns them as one line,
// oldest first, joined with "; " (e.g. "error:0A000086:SSL routines::certificate verify
// failed"). Returns "" when the queue was empty.
std::string drain_openssl_errors();

// The reason code (ERR_GET_REASON) of the oldest queued entry without removing it, or 0.
int peek_openssl_reason();

}  // namespace sonde::net

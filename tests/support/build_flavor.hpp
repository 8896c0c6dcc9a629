#pragma once

// What kind of build the tests run in, for the few figures that depend on it.

namespace sonde::test {

// Under AddressSanitizer every probe costs several times the CPU: tests that count or time
// many probes scale their numbers and slack by this.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace sonde::test

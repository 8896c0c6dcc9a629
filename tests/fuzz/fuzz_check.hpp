#pragma once

// What the fuzzers share: a check that stops the run with a message when an invariant of the
// code under test does not hold. libFuzzer then saves the input as a crash, like a sanitizer
// finding.

#include <cstdio>
#include <cstdlib>

#define SONDE_FUZZ_CHECK(condition)                                                            \
    do {                                                                                       \
        if (!(condition)) {                                                                    \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                      \
        }                                                                                      \
    } while (false)

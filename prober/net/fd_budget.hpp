#pragma once

// The descriptor budget of probes: probes never hold the last descriptors of the process, so
// that sonde's own endpoints (/metrics, /-/healthy, a config reload, the /proc reads of the
// process metrics) keep working when probes exhaust RLIMIT_NOFILE, and libuv's accept never
// meets EMFILE (it would accept and drop the connection, a scrape failing without an answer).
//
// How: Linux hands out the lowest free descriptor number, so a socket numbered n means the n
// below it are all in use. A probe socket numbered at or above the ceiling (the limit minus a
// reserve) is closed at once and its probe fails with EMFILE ("too many open files"), exactly as
// if the kernel had refused it. Probes therefore never hold a descriptor at or above the
// ceiling, and the reserve above it stays for everything else. The check costs one comparison
// per socket; counting open descriptors (/proc/self/fd) would cost a directory read.
//
// The ceiling is process-wide, like the descriptor table it guards: set once at startup, read by
// every loop (an atomic). Unset (the default, and in tests that do not set it) nothing is refused.

#include <cstdint>
#include <string>

#include <uv.h>

namespace sonde::net {

// RLIMIT_NOFILE as found at startup and as left by raise_fd_limit().
struct FdLimit {
    std::uint64_t soft_before = 0;
    std::uint64_t soft = 0;  // the limit in force
    std::uint64_t hard = 0;
    std::string error;  // why the soft limit could not be raised (it stays as it was)
    bool raised() const { return soft != soft_before; }
};

// Raises the soft RLIMIT_NOFILE to the hard one, as Go programs do at startup: the soft limit
// (often 1024) only protects old select() users, and sonde polls with epoll. Failing to raise it
// is not fatal: the result says why and carries the limit in force (all 0 when even getrlimit
// failed).
FdLimit raise_fd_limit();

// The descriptors kept for serving out of a limit of `limit`: a sixteenth, at least 32 and at
// most 1024, and never more than half the limit.
std::uint64_t fd_reserve_for(std::uint64_t limit);

class FdBudget {
public:
    // Probe sockets must be numbered below `ceiling`; 0 removes the bound. Call at startup.
    static void set_ceiling(std::uint64_t ceiling);
    static std::uint64_t ceiling();
    // For a limit: ceiling = limit - fd_reserve_for(limit). Returns the ceiling.
    static std::uint64_t set_for_limit(std::uint64_t limit);

    // 0 when a probe may keep descriptor fd, else UV_EMFILE (the caller closes it and fails).
    static int admit(int fd);
    // The same for the socket of a libuv handle (a handle without one is admitted).
    static int admit(const uv_handle_t* handle);
    // How many sockets were refused so far (process-wide).
    static std::uint64_t refused();
};

}  // namespace sonde::net

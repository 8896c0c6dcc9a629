#include "prober/net/fd_budget.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <sys/resource.h>

namespace sonde::net {
namespace {

// Process-wide, as the descriptor table is; relaxed: a value set at startup, read by the loops.
std::atomic<std::uint64_t> g_ceiling{0};
std::atomic<std::uint64_t> g_refused{0};

}  // namespace

FdLimit raise_fd_limit() {
    FdLimit result;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        result.error = std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno);
        return result;
    }
    result.soft_before = limit.rlim_cur;
    result.soft = limit.rlim_cur;
    result.hard = limit.rlim_max;
    if (limit.rlim_cur >= limit.rlim_max) {
        return result;
    }
    rlimit wanted = limit;
    wanted.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
        // An unlimited hard limit is above the kernel's nr_open, which setrlimit refuses.
        result.error =
            std::string("setrlimit(RLIMIT_NOFILE) to the hard limit: ") + std::strerror(errno);
        return result;
    }
    result.soft = wanted.rlim_cur;
    return result;
}

std::uint64_t fd_reserve_for(std::uint64_t limit) {
    const std::uint64_t reserve = std::clamp<std::uint64_t>(limit / 16, 32, 1024);
    return std::min(reserve, limit / 2);
}

void FdBudget::set_ceiling(std::uint64_t ceiling) {
    g_ceiling.store(ceiling, std::memory_order_relaxed);
}

std::uint64_t FdBudget::ceiling() {
    return g_ceiling.load(std::memory_order_relaxed);
}

std::uint64_t FdBudget::set_for_limit(std::uint64_t limit) {
    // RLIM_INFINITY and other limits beyond any descriptor number: nothing to guard.
    const std::uint64_t ceiling = limit >= (1ULL << 31) ? 0 : limit - fd_reserve_for(limit);
    set_ceiling(ceiling);
    return ceiling;
}

int FdBudget::admit(int fd) {
    const std::uint64_t ceiling = FdBudget::ceiling();
    if (ceiling == 0 || fd < 0 || static_cast<std::uint64_t>(fd) < ceiling) {
        return 0;
    }
    g_refused.fetch_add(1, std::memory_order_relaxed);
    return UV_EMFILE;
}

int FdBudget::admit(const uv_handle_t* handle) {
    uv_os_fd_t fd = -1;
    if (uv_fileno(handle, &fd) != 0) {
        return 0;
    }
    return admit(fd);
}

std::uint64_t FdBudget::refused() {
    return g_refused.load(std::memory_order_relaxed);
}

}  // namespace sonde::net

// The descriptor budget's arithmetic and its check, and raising RLIMIT_NOFILE (in a child, so
// the test process keeps its own limits).

#include "prober/net/fd_budget.hpp"

#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sonde {
namespace {

// The ceiling is process-wide: every test that sets one puts "no bound" back.
struct CeilingGuard {
    ~CeilingGuard() { net::FdBudget::set_ceiling(0); }
};

}  // namespace

TEST_CASE("the reserve kept for serving, by limit", "[unit][limits]") {
    struct Row {
        std::uint64_t limit;
        std::uint64_t reserve;
    };
    const Row row = GENERATE(Row{16, 8},                              // never more than half
                             Row{40, 20}, Row{64, 32}, Row{512, 32},  // at least 32
                             Row{1024, 64}, Row{4096, 256},           // a sixteenth
                             Row{65536, 1024}, Row{1048576, 1024});   // at most 1024
    CAPTURE(row.limit);
    CHECK(net::fd_reserve_for(row.limit) == row.reserve);
}

TEST_CASE("probe sockets at or above the ceiling are refused with EMFILE", "[unit][limits]") {
    CeilingGuard guard;
    CHECK(net::FdBudget::ceiling() == 0);
    CHECK(net::FdBudget::admit(100000) == 0);  // no ceiling: nothing refused

    CHECK(net::FdBudget::set_for_limit(64) == 32);
    CHECK(net::FdBudget::ceiling() == 32);
    const auto refused = net::FdBudget::refused();
    CHECK(net::FdBudget::admit(0) == 0);
    CHECK(net::FdBudget::admit(31) == 0);
    CHECK(net::FdBudget::admit(32) == UV_EMFILE);
    CHECK(net::FdBudget::admit(63) == UV_EMFILE);
    CHECK(net::FdBudget::admit(-1) == 0);  // no descriptor: nothing to refuse
    CHECK(net::FdBudget::refused() == refused + 2);

    // A limit no descriptor number reaches (RLIM_INFINITY) sets no ceiling.
    CHECK(net::FdBudget::set_for_limit(RLIM_INFINITY) == 0);
    CHECK(net::FdBudget::admit(1 << 30) == 0);
}

TEST_CASE("the soft open files limit is raised to the hard one", "[unit][limits]") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // In the child: lower the limits (the hard one for good), then raise the soft one.
        rlimit low{64, 128};
        if (::setrlimit(RLIMIT_NOFILE, &low) != 0) {
            ::_exit(10);
        }
        const net::FdLimit raised = net::raise_fd_limit();
        rlimit now{};
        ::getrlimit(RLIMIT_NOFILE, &now);
        const bool ok = raised.error.empty() && raised.soft_before == 64 && raised.soft == 128 &&
                        raised.hard == 128 && raised.raised() && now.rlim_cur == 128;
        // Already at the hard limit: nothing to do, nothing to report.
        const net::FdLimit again = net::raise_fd_limit();
        const bool ok_again = again.error.empty() && !again.raised() && again.soft == 128;
        ::_exit(ok && ok_again ? 0 : 11);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace sonde

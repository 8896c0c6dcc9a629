#pragma once

// Runs one hidden test case of this test binary inside a fresh network namespace (`unshare -n`,
// with a user namespace when not root), after a shell there has brought up lo and run `setup`
// (sysctls of the namespace's own, e.g. net.ipv4.icmp_echo_ignore_all=1). The host's network
// and sysctls are never touched.
//
// Usage: a visible TEST_CASE calls run_in_netns(setup, "name of hidden case"); the hidden case
// (tagged "[.]...") starts with REQUIRE(in_netns_child()).

#include <string>

namespace sonde::test {

// True inside the child run_in_netns started.
bool in_netns_child();

// Returns false (after WARN, or FAIL when the CI variable is set) when namespaces are not
// permitted; otherwise CHECKs that the child case passed and returns true.
bool run_in_netns(const std::string& setup, const std::string& child_test);

}  // namespace sonde::test

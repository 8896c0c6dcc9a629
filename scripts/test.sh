#!/usr/bin/env bash
# Installs what is missing (test peers included), builds, and runs every test.
# Usage: scripts/test.sh [--sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build
if [[ "${1:-}" == "--sanitize" ]]; then
    build_dir=build-asan
    # Leaks are failures; UBSan stops at the first finding.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
scripts/build.sh --test "$@"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 60

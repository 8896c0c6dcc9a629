#!/usr/bin/env bash
# Configures and builds sonde. Usage: scripts/build.sh [--sanitize] [--test]
#   build/        the normal build (the binary is build/sonde)
#   build-asan/   with --sanitize: AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
deps_args=()
for arg in "$@"; do
    case $arg in
        --sanitize) build_dir=build-asan; cmake_args+=(-DSONDE_SANITIZE=ON) ;;
        --test) deps_args+=(--test) ;;
        *) echo "build.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

scripts/install-deps.sh "${deps_args[@]}"
cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

#!/usr/bin/env bash
# Installs, from Debian 12 packages only, everything sonde needs to build, run and test.
# Safe to run repeatedly: it only calls apt-get when something is missing.
#
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also the real peers the tests talk to
set -euo pipefail

build_packages=(
    cmake g++ pkg-config make
    libuv1-dev libc-ares-dev libssl-dev openssl node-llhttp
    libyaml-cpp-dev prometheus-cpp-dev libre2-dev nlohmann-json3-dev
    zlib1g-dev libbrotli-dev catch2 libcrypt-dev libnghttp2-dev
)
test_packages=(
    prometheus-blackbox-exporter prometheus clang-format-14 iproute2 procps curl dnsmasq
    util-linux nginx wrk
    clang-14 libclang-rt-14-dev
)

wanted=("${build_packages[@]}")
if [[ "${1:-}" == "--test" ]]; then
    wanted+=("${test_packages[@]}")
    # The fake Kubernetes API is checked with a real kubectl: keep one that is already there
    # (some images ship their own), else take Debian's.
    if ! command -v kubectl >/dev/null; then
        wanted+=(kubernetes-client)
    fi
fi

missing=()
for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
# Daemons installed only as test peers must not start themselves (no policy-rc.d on a
# plain machine would let prometheus and the exporter grab :9090 and :9115).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee $policy >/dev/null
    "${sudo_cmd[@]}" chmod +x $policy
    created_policy=1
fi
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
if ((created_policy)); then
    "${sudo_cmd[@]}" rm -f $policy
fi

#!/usr/bin/env bash
# The benchmarks of issue 7, in one command: runs the three benchmarks one after the other and
# writes their tables, with the date, the machine and the git commit, to docs/benchmarks.md
# (the method section at the top of that file is kept; everything after the results marker is
# replaced).
#
#   tests/bench/run.sh            full run, about 10 minutes on 2 cores
#   tests/bench/run.sh --quick    a smoke run of about 2 minutes (small sizes, short runs)
#   tests/bench/run.sh --only 1,3 only benchmarks 1 and 3 (1 throughput, 2 scheduled, 3 timing)
#   tests/bench/run.sh --no-write print the results, leave docs/benchmarks.md alone
#
# Each benchmark also runs alone: tests/bench/probe_throughput.sh, scheduled_targets.sh and
# timing_truth.sh (their arguments and environment are described at their top). SONDE picks the
# binary (default build/sonde; built here with RelWithDebInfo when missing). Installs nothing: it
# stops with the list of Debian packages to install (scripts/install-deps.sh --test has them).
# Loopback only; run as root for ICMP and for the delay server's real-time priority.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/lib.sh

quick=0 write=1 only="1,2,3"
while (($#)); do
    case $1 in
        --quick) quick=1 ;;
        --no-write) write=0 ;;
        --only) only=$2 && shift ;;
        --only=*) only=${1#--only=} ;;
        -h | --help)
            sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) fail "unknown argument $1 (see --help)" ;;
    esac
    shift
done
wants() { [[ ,$only, == *,$1,* ]]; }

# Everything that is missing, at once.
missing=()
check() { command -v "$1" >/dev/null 2>&1 || [[ -x $1 ]] || missing+=("$2"); }
check curl curl
check python3 python3
check ss iproute2
if wants 1 || wants 3; then
    check wrk wrk
    check "$EXPORTER" prometheus-blackbox-exporter
fi
if wants 1; then
    check openssl openssl
    check /usr/sbin/nginx nginx
    check /usr/sbin/dnsmasq dnsmasq
fi
if wants 2 || wants 3; then
    check c++ g++
fi
if ((${#missing[@]})); then
    fail "missing: apt-get install ${missing[*]}"
fi
[[ $(id -u) == 0 ]] || say "not root: icmp probes and the delay server's real-time priority may fail"

# The binary under test: an optimised, unsanitized build.
if [[ ! -x $SONDE && $SONDE == build/sonde ]]; then
    say "building build/sonde (RelWithDebInfo)"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j2 --target sonde >/dev/null
fi
need_sonde
build_type=unknown
cache=$(dirname "$SONDE")/CMakeCache.txt
if [[ -f $cache ]]; then
    build_type=$(awk -F= '/^CMAKE_BUILD_TYPE:/ {print $2}' "$cache")
    grep -q '^SONDE_SANITIZE:BOOL=ON' "$cache" && build_type="$build_type, SANITIZED"
    [[ $build_type == Release || $build_type == RelWithDebInfo ]] ||
        say "warning: $SONDE is a '$build_type' build; figures of a non-optimised build mean little"
fi
wants 2 && build_tool accept_sink
wants 3 && build_tool delay_server

if ((quick)); then
    b1=(3 32) b2=(10000 "tcp_connect icmp" 10) b3=(5 "200 1000") extra=""
else
    b1=(10 32) b2=("10000 50000 100000" "tcp_connect icmp" 30) b3=(25 "1000 5000") extra="100000:20:tcp_connect"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(loadavg)
t0=$SECONDS
# section NUMBER NAME COMMAND...: runs one benchmark; a failure is recorded, not fatal.
section() {
    local number=$1 name=$2
    shift 2
    wants "$number" || return 0
    say "benchmark $number: $name"
    if ! "$@" >"$out/$number.md"; then
        echo "### Benchmark $number: $name" >>"$out/$number.md"
        echo >>"$out/$number.md"
        echo "**The benchmark failed** (see the run's stderr); its figures are missing." >>"$out/$number.md"
    fi
}
section 1 "/probe throughput" tests/bench/probe_throughput.sh "${b1[@]}"
BENCH_SCHED_EXTRA=$extra section 2 "scheduled scale" tests/bench/scheduled_targets.sh "${b2[@]}"
section 3 "timing truth" tests/bench/timing_truth.sh "${b3[@]}"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
{
    echo "## Results"
    echo
    echo "- Date: $started, $(((SECONDS - t0) / 60)) min$( ((quick)) && echo ", **quick run** (small sizes, short runs: not for comparison)")"
    echo "- Commit: \`$commit\`$dirty, $SONDE ($build_type); exporter: $("$EXPORTER" --version 2>&1 | head -1)"
    echo "- Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
    echo "- Load average (1, 5, 15 min) at the start: $load_start; at the end: $(loadavg)"
    echo "- Command: \`tests/bench/run.sh$( ((quick)) && echo " --quick")$([[ $only != 1,2,3 ]] && echo " --only $only")\`"
    for number in 1 2 3; do
        if [[ -f $out/$number.md ]]; then
            echo
            cat "$out/$number.md"
        fi
    done
} >"$out/results.md"

cat "$out/results.md"
if ((write)); then
    doc=docs/benchmarks.md
    marker='<!-- Results below are written by tests/bench/run.sh: everything after this line is replaced. -->'
    [[ -f $doc ]] && grep -qF "$marker" "$doc" || fail "$doc has no results marker; not writing"
    { awk -v m="$marker" '{print} $0 == m {exit}' "$doc" && echo && cat "$out/results.md"; } >"$out/doc.md"
    cp "$out/doc.md" "$doc"
    say "wrote $doc"
fi

# Helpers shared by the benchmark scripts (sourced, not run). Each script cds to the repo root first.
# Progress goes to stderr; the scripts print only their Markdown results on stdout.

# The sonde binary under test (a RelWithDebInfo or Release build: never a sanitized one).
SONDE=${SONDE:-build/sonde}
EXPORTER=${EXPORTER:-prometheus-blackbox-exporter}
HZ=$(getconf CLK_TCK)

say() { echo "bench: $*" >&2; }
fail() {
    echo "bench: $*" >&2
    exit 2
}

# need CMD [PACKAGE]: stops with the Debian package to install when CMD is missing.
need() {
    command -v "$1" >/dev/null 2>&1 || [[ -x $1 ]] || fail "$1 is missing: apt-get install ${2:-$1}"
}

need_sonde() {
    [[ -x $SONDE ]] || fail "$SONDE is missing: build it first (or run tests/bench/run.sh)"
}

# port_free PORT...: stops when a port is already taken (another benchmark is running?).
port_free() {
    local port
    for port in "$@"; do
        if ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
            fail "port $port is in use (another benchmark running?); set BENCH_PORT_BASE to move"
        fi
    done
}

# Open-file limit: the hard limit, inherited by every process the scripts start.
raise_nofile() { ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; }

# CPU time (user + system) of a process in clock ticks, all threads.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_to_ms() { awk -v t="$1" -v hz="$HZ" 'BEGIN {printf "%.1f", t * 1000 / hz}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# Resets the peak RSS (VmHWM) to the current RSS, so that a later VmHWM is the peak of one
# phase. Needs Linux >= 4.0 and permission over the process; harmless when refused.
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

# wait_url URL SECONDS: until URL answers 200, or stop.
wait_url() {
    local url=$1 limit=$2 start=$SECONDS
    until curl -fs -o /dev/null --max-time 5 "$url"; do
        ((SECONDS - start < limit)) || fail "$url did not answer within ${limit}s"
        sleep 0.2
    done
}

# alive PID NAME: stops when a process the script started has died.
alive() { kill -0 "$1" 2>/dev/null || fail "$2 (pid $1) is not running; see its log under $work"; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# An awk ratio a/b with 2 decimals, "-" when either is missing or b is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b}'; }

# stop_pids PID...: ends the processes this script started, by id, and waits for them.
stop_pids() {
    local pid
    for pid in "$@"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        wait "$pid" 2>/dev/null || true
    done
}

# build_tool NAME: compiles tests/bench/NAME.cpp into build/bench/NAME when missing or older.
build_tool() {
    mkdir -p build/bench
    if [[ ! -x build/bench/$1 || tests/bench/$1.cpp -nt build/bench/$1 ]]; then
        need c++ g++
        c++ -std=c++20 -O2 -o "build/bench/$1" "tests/bench/$1.cpp" || fail "cannot build build/bench/$1"
    fi
}

# Real-time priority for the benchmark's own servers when allowed (root), so that on a loaded
# machine they answer on time and the figures are the prober's, not theirs.
rt_prefix() { chrt -f 1 true 2>/dev/null && echo "chrt -f 1" || true; }

#!/usr/bin/env bash
# /probe throughput of sonde and of Debian's prometheus-blackbox-exporter, side by side, for the
# tcp_connect module against a loopback listener. Prints probes/s and CPU ms per probe for each.
#
#   tests/bench/probe_throughput.sh [seconds=10] [connections=32]
#
# Needs: build/sonde, prometheus-blackbox-exporter, wrk (apt-get install wrk). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-10}
connections=${2:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/blackbox.yml" <<'YML'
modules:
  tcp_connect:
    prober: tcp
YML

# The target: sonde's own listener is a TCP server that is certainly up.
build/sonde --config.file="$work/blackbox.yml" --web.listen-address=127.0.0.1:19181 \
    --log.level=error --log.prober=error >/dev/null 2>&1 &
sonde_pid=$!
prometheus-blackbox-exporter --config.file="$work/blackbox.yml" \
    --web.listen-address=127.0.0.1:19182 --log.level=error >/dev/null 2>&1 &
exporter_pid=$!
sleep 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run() {
    local name=$1 port=$2 pid=$3
    local url="http://127.0.0.1:$port/probe?module=tcp_connect&target=127.0.0.1:19181"
    local before after out rps
    before=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency "$url")
    after=$(cpu_ticks "$pid")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    local p99
    p99=$(awk '/ 99%/ {print $2}' <<<"$out")
    local total=$(awk -v r="$rps" -v d="$duration" 'BEGIN {print r * d}')
    local cpu_ms=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$total" \
        'BEGIN {printf "%.3f", t * 1000 / hz / n}')
    local rss=$(awk '/VmHWM/ {print $2 / 1024 " MB"}' "/proc/$pid/status")
    printf '%-10s %10s probes/s  %8s ms CPU/probe  p99 %8s  peak RSS %s\n' \
        "$name" "$rps" "$cpu_ms" "$p99" "$rss"
}

echo "tcp_connect, $connections connections, ${duration}s each"
run sonde 19181 "$sonde_pid"
run exporter 19182 "$exporter_pid"

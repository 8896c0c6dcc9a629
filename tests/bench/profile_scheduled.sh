#!/usr/bin/env bash
# Where sonde's CPU goes in scheduled mode: starts sonde with N distinct loopback targets (as
# scheduled_targets.sh does), lets the schedule settle for 5 s, then records it with `perf record`
# for S seconds (no /metrics scrape meanwhile) and prints the hottest symbols, then the same for
# one /metrics scrape.
#
#   tests/bench/profile_scheduled.sh [targets=100000] [interval=20] [module=tcp_connect] [seconds=30]
#
# Env: BENCH_PORT_BASE (19400), SONDE, PERF_TOP (lines of the report, 40). Needs: perf, curl,
# python3, a build with symbols (RelWithDebInfo). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/lib.sh
count=${1:-100000}
interval=${2:-20}
module=${3:-tcp_connect}
seconds=${4:-30}
base=${BENCH_PORT_BASE:-19400}
sonde_port=$((base + 91)) listen_port=$((base + 92))
need perf linux-perf
need curl
need python3
need_sonde
port_free "$sonde_port" "$listen_port"
raise_nofile

work=$(mktemp -d)
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$work"' EXIT

build_tool accept_sink
# The listener: accept and close, on the wildcard address of lo only (see accept_sink.cpp).
$(rt_prefix) build/bench/accept_sink "$listen_port" >"$work/listener.log" 2>&1 &
pids+=($!)
{
    printf 'modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n'
    printf '  icmp:\n    prober: icmp\n    timeout: 5s\n    icmp:\n      preferred_ip_protocol: ip4\n'
    python3 tests/bench/targets_config.py "$count" "$interval" "$module" "$listen_port"
} >"$work/sonde.yml"
"$SONDE" --config.file="$work/sonde.yml" --web.listen-address="127.0.0.1:$sonde_port" \
    --log.level=error --log.prober=error >"$work/sonde.log" 2>&1 &
pids+=($!)
pid=$!
wait_url "http://127.0.0.1:$sonde_port/-/healthy" 120
sleep 5
say "perf record of sonde (pid $pid) for ${seconds}s: $count $module targets every ${interval}s"
ticks0=$(cpu_ticks "$pid")
perf record -F 999 -g -p "$pid" -o "$work/sched.data" -- sleep "$seconds" >/dev/null 2>&1
ticks1=$(cpu_ticks "$pid")
echo "## $count $module targets every ${interval}s: sonde used $(ticks_to_ms $((ticks1 - ticks0))) ms CPU in ${seconds} s;" \
    "$(grep -c 'msg="Probe failed"' "$work/sonde.log" || true) runs failed so far," \
    "$(grep -c 'reason="probe timed out' "$work/sonde.log" || true) of them timeouts"
perf report -i "$work/sched.data" -g none --no-children --sort dso,symbol --stdio 2>/dev/null |
    grep -v '^#' | grep -E '^ +[0-9]' | head -"${PERF_TOP:-40}"
say "perf record of one /metrics scrape"
perf record -F 999 -g -p "$pid" -o "$work/scrape.data" -- \
    curl -s -o /dev/null http://127.0.0.1:$sonde_port/metrics >/dev/null 2>&1
echo
echo "## one /metrics scrape"
perf report -i "$work/scrape.data" -g none --no-children --sort dso,symbol --stdio 2>/dev/null |
    grep -v '^#' | grep -E '^ +[0-9]' | head -"${PERF_TOP:-40}"

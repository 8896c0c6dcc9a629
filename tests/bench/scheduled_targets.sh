#!/usr/bin/env bash
# Scheduled static targets at scale: starts sonde with N tcp_connect targets (default 10,000) on
# a 30 s interval against sonde's own loopback listener, waits until every target has a result, and prints
# sonde's RSS, CPU per probe, /metrics size and scrape time, and the scheduler lag quantiles.
#
#   tests/bench/scheduled_targets.sh [targets=10000] [interval=30s]
#
# Needs: build/sonde, curl, python3. Loopback only (127.0.0.1 ports of a listener sonde serves).
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-10000}
interval=${2:-30s}

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The targets: sonde's own listener (certainly up), once per group with a distinct `n` label,
# so that every target is its own series set.
python3 - "$count" "$interval" >"$work/sonde.yml" <<'PY'
import sys
count, interval = int(sys.argv[1]), sys.argv[2]
print("modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 5s")
print("targets:")
for i in range(count):
    print("  - {module: tcp_connect, interval: %s, labels: {n: '%d'}, targets: [127.0.0.1:19191]}"
          % (interval, i))
PY

build/sonde --config.file="$work/sonde.yml" --web.listen-address=127.0.0.1:19191 \
    --log.level=error --log.prober=error >/dev/null 2>&1 &
pid=$!
sleep 0.5

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { curl -s http://127.0.0.1:19191/metrics | awk -v n="$1" '$1 == n {print $2}'; }

start=$(date +%s.%N)
ticks0=$(cpu_ticks $pid)
echo "waiting for $count targets to have a result (interval $interval)..."
while :; do
    have=$(curl -s http://127.0.0.1:19191/metrics | grep -c '^probe_success{' || true)
    [[ $have -ge $count ]] && break
    sleep 1
done
end=$(date +%s.%N)
ticks1=$(cpu_ticks $pid)
probes=$(curl -s http://127.0.0.1:19191/metrics | awk '/^sonde_probes_total\{/ {s += $2} END {print s}')
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
scrape=$( { /usr/bin/time -f %e curl -s -o "$work/metrics.txt" http://127.0.0.1:19191/metrics; } 2>&1 )
size=$(wc -c <"$work/metrics.txt")
up=$(grep -c '^probe_success{.* 1$' "$work/metrics.txt" || true)

printf 'targets            %d (probe_success 1: %d)\n' "$count" "$up"
printf 'all probed after   %.1f s\n' "$(echo "$end - $start" | bc)"
printf 'RSS                %d MB (peak %d MB)\n' $((rss_kb / 1024)) $((hwm_kb / 1024))
printf 'CPU per probe      %.3f ms (%d probes)\n' \
    "$(echo "($ticks1 - $ticks0) * 1000 / $hz / $probes" | bc -l)" "$probes"
printf '/metrics           %d KB in %s s\n' $((size / 1024)) "$scrape"
grep '^sonde_scheduler_lag_seconds_bucket' "$work/metrics.txt" | sed 's/^/lag /'
grep '^sonde_event_loop_utilization' "$work/metrics.txt"

#!/usr/bin/env bash
# Benchmark 2, scheduled scale: sonde alone, with N static targets that are N distinct loopback
# addresses 127.x.y.z (tcp_connect to 127.x.y.z:PORT, icmp to 127.x.y.z), for each module and
# each N, at a fixed interval. One listener bound to the wildcard address on `lo` only
# (SO_BINDTODEVICE) accepts the connections to every 127/8 address, so no target needs a
# descriptor of its own; Linux answers pings to all of 127/8.
#
# For each point: the baseline is sonde's RSS with the same modules and zero targets. sonde
# starts with the N targets and is left alone for one interval + 5 s (every target's first run
# falls inside it), with no scrape, since a scrape renders on the loop and would delay the probes
# due meanwhile. Then RSS is read and one /metrics scrape checks that every target has a result
# (else it polls, and gives up after 3 intervals + 30 s). That scrape gives, for the first phase:
# probes/s, CPU per probe, the scheduling lag quantiles (sonde_scheduler_lag_seconds buckets), the
# event-loop utilisation (sonde_event_loop_idle_seconds_total); and for itself: /metrics size,
# scrape time and CPU, and RSS after it.
#
#   tests/bench/scheduled_targets.sh [sizes="10000 50000 100000"] [modules="tcp_connect icmp"] [interval=30]
#
# Env: BENCH_SCHED_EXTRA (extra points "N:interval:module ...",
# default "100000:20:tcp_connect", the issue's 5,000 probes/s point; "" for none),
# BENCH_PORT_BASE (19300), SONDE. Needs: build/sonde, curl, python3, g++ (for accept_sink.cpp). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/lib.sh
sizes=${1:-"10000 50000 100000"}
modules=${2:-"tcp_connect icmp"}
interval=${3:-30}
extra=${BENCH_SCHED_EXTRA-"100000:20:tcp_connect"}
base=${BENCH_PORT_BASE:-19300}
sonde_port=$((base + 91)) listen_port=$((base + 92))
url="http://127.0.0.1:$sonde_port"

need curl
need python3
need_sonde
port_free "$sonde_port" "$listen_port"
raise_nofile

work=$(mktemp -d)
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$work"' EXIT

# The listener: accept and close, as cheap as Python gets (a blocking loop, no asyncio).
build_tool accept_sink
# The listener: accept and close, on the wildcard address of lo only (see accept_sink.cpp).
$(rt_prefix) build/bench/accept_sink "$listen_port" >"$work/listener.log" 2>&1 &
pids+=($!)
listener_pid=$!
sleep 0.3
alive "$listener_pid" listener

modules_yaml() {
    cat <<YML
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
  icmp:
    prober: icmp
    timeout: 5s
    icmp:
      preferred_ip_protocol: ip4
YML
}

# config N INTERVAL MODULE: N distinct targets 127.x.y.z from 127.1.0.1 on, 1,000 a group.
config() {
    modules_yaml
    python3 tests/bench/targets_config.py "$1" "$2" "$3" "$listen_port"
}

start_sonde() {
    "$SONDE" --config.file="$1" --web.listen-address="127.0.0.1:$sonde_port" \
        --log.level=error --log.prober=error >"$work/sonde.log" 2>&1 &
    sonde_pid=$!
    pids+=("$sonde_pid")
}
stop_sonde() {
    stop_pids "$sonde_pid"
    pids=("$listener_pid")
}
# scrape FILE: /metrics into FILE; prints "seconds bytes curl-exit-status" (18: cut short).
scrape() {
    local status=0 figures
    figures=$(curl -fs --max-time 120 -o "$1" -w '%{time_total} %{size_download}' "$url/metrics") || status=$?
    echo "${figures:-0 0} $status"
}
# failed_runs: probes that failed so far, from sonde's error log, with the timeouts among them.
failed_runs() {
    echo "$(grep -c 'msg="Probe failed"' "$work/sonde.log" || true) failed ($(grep -c 'reason="probe timed out' "$work/sonde.log" || true) timeouts)"
}
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# The baseline: the same modules, zero targets.
modules_yaml >"$work/empty.yml"
start_sonde "$work/empty.yml"
wait_url "$url/-/healthy" 20
sleep 2
baseline_kb=$(rss_kb "$sonde_pid")
stop_sonde

rows=()
point() {
    local n=$1 every=$2 module=$3
    say "scheduled: $n $module targets every ${every}s"
    config "$n" "$every" "$module" >"$work/sonde.yml"
    local t0=$SECONDS
    start_sonde "$work/sonde.yml"
    wait_url "$url/-/healthy" 120
    local startup=$((SECONDS - t0)) w0 w1 ticks0 ticks1 ticks2
    w0=$(date +%s.%N)
    ticks0=$(cpu_ticks "$sonde_pid")
    # Every target's first run falls within one interval of the start; 5 s more for the timeout.
    # Nothing scrapes sonde meanwhile: the figures of this phase are the scheduler's alone.
    sleep $((every + 5))
    alive "$sonde_pid" sonde
    local rss_first limit=$((t0 + 3 * every + 30)) have took size status note=""
    rss_first=$(rss_kb "$sonde_pid")
    while :; do
        ticks1=$(cpu_ticks "$sonde_pid")
        w1=$(date +%s.%N)
        rm -f "$work/a.txt"
        read -r took size status <<<"$(scrape "$work/a.txt")"
        ticks2=$(cpu_ticks "$sonde_pid")
        have=$(grep -c '^probe_success{' "$work/a.txt" 2>/dev/null || true)
        # A scrape cut short (curl status 18) is reported, not retried: the cut is a finding.
        ((have >= n || status == 18)) && break
        if ((SECONDS >= limit)); then
            rows+=("| $module | $n | ${every}s | gave up after $((SECONDS - t0)) s: $have of $n targets in the last scrape ($(awk -v b="$size" 'BEGIN {printf "%.1f", b / 1048576}') MB in $took s, curl status $status), runs: $(failed_runs), RSS $(mb "$(rss_kb "$sonde_pid" 2>/dev/null || echo 0)") MB |||||||||||||")
            say "gave up: only $have of $n targets have a result after $((SECONDS - t0)) s"
            stop_sonde
            return
        fi
        # Not all there yet: the figures will include the stalls of these extra scrapes.
        note=" (after extra scrapes)"
        sleep $((every / 3))
    done
    local rss_end hwm
    rss_end=$(rss_kb "$sonde_pid")
    hwm=$(hwm_kb "$sonde_pid")
    declare -A s
    while read -r key value; do s[$key]=$value; done < <(python3 tests/bench/sched_stats.py \
        - "$work/a.txt" "$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')" $((ticks1 - ticks0)) "$HZ")
    lag_buckets=${s[lag_buckets]}
    local per_target
    per_target=$(awk -v a="$rss_first" -v b="$baseline_kb" -v n="$n" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}')
    rows+=("| $module | $n | ${every}s | $startup | $(mb "$rss_first") | **$per_target** | ${s[rate]} | ${s[cpu_us]} | ${s[lag_p50_ms]} | ${s[lag_p99_ms]} | ${s[lag_le5ms]} | ${s[lag_max]} | ${s[util]}$note | $(awk -v b="$size" 'BEGIN {printf "%.1f", b / 1048576}') | $took$( ((status)) && echo " (**cut short**, curl status $status)") | $(ticks_to_ms $((ticks2 - ticks1))) | $(mb "$rss_end") / $(mb "$hwm") | ${s[up]} / ${s[results]}, $(failed_runs) |")
    stop_sonde
}

lag_buckets=""
load_before=$(loadavg)
for module in $modules; do
    for n in $sizes; do
        point "$n" "$interval" "$module"
    done
done
for spec in $extra; do
    IFS=: read -r n every module <<<"$spec"
    point "$n" "$every" "$module"
done

echo "### Benchmark 2: scheduled scale"
echo
echo "Load average before $load_before, after $(loadavg). Baseline RSS (same modules, zero targets): $(mb "$baseline_kb") MB."
echo "Phase 1, the scheduler alone: from /-/healthy to one interval + 5 s later, with no scrape: RSS (read at"
echo "its end), RSS/target = (RSS - baseline) / N, probes/s, CPU per probe, lag and loop utilisation"
echo "(1 - sonde_event_loop_idle_seconds_total / elapsed). Lag quantiles are interpolated inside the"
echo "sonde_scheduler_lag_seconds buckets (bounds ${lag_buckets:-?}); the ≤5 ms share is exact; max is the"
echo "bucket that holds the latest run. Phase 2, the first /metrics scrape: size, time, sonde CPU, and RSS"
echo "after it / peak. The scrape renders on the loop, so every probe due meanwhile starts late by up to"
echo "the scrape time: with Prometheus scraping, add that to the lag."
echo
echo "| module | targets | interval | startup s | RSS MB | RSS/target B | probes/s | CPU µs/probe | lag p50 ms | lag p99 ms | lag ≤5 ms share | lag max | loop util | /metrics MB | scrape s | scrape CPU ms | RSS after scrape / peak MB | up / results, failed runs |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"

#!/usr/bin/env bash
# Benchmark 3, timing truth: does a prober under load report its own queueing as the target's
# latency? A server that answers exactly 50 ms after each request reached its socket
# (tests/bench/delay_server.cpp) is probed through /probe?module=http_2xx while wrk keeps C
# probes in flight (C = 1,000 then 5,000: one /probe request per wrk connection), for sonde and
# for Debian's prometheus-blackbox-exporter in the same run. A wrk Lua script
# (probe_duration.lua) keeps probe_duration_seconds of every answer. Prints, per prober and C:
# the error of probe_duration_seconds against 50 ms (p50, p99, max), the /probe latency the client
# saw (wrk), probes/s, failed probes, and the delay server's own lateness, which proves (or not)
# that the 50 ms were honest.
#
#   tests/bench/timing_truth.sh [seconds=25] [concurrency="1000 5000"]
#
# The run must be long enough for a saturated prober to finish probes at all: at 5,000 in flight
# the exporter answers its first probes after about 15 s on 2 cores (all goroutines advance together).
#
# Env: BENCH_PORT_BASE (default 19200), SONDE, EXPORTER, BENCH_WRK_THREADS (2).
# Needs: build/sonde, build/bench/delay_server (run.sh compiles it), wrk, curl, python3,
# prometheus-blackbox-exporter. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/lib.sh
duration=${1:-25}
levels=${2:-"1000 5000"}
base=${BENCH_PORT_BASE:-19200}
wrk_threads=${BENCH_WRK_THREADS:-2}
server_port=$((base + 50)) sonde_port=$((base + 81)) exporter_port=$((base + 82))
delay_server=${DELAY_SERVER:-build/bench/delay_server}

need wrk
need curl
need python3
need "$EXPORTER" prometheus-blackbox-exporter
need_sonde
[[ -n ${DELAY_SERVER:-} ]] || build_tool delay_server
port_free "$server_port" "$sonde_port" "$exporter_port"
raise_nofile

work=$(mktemp -d)
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$work"' EXIT

cat >"$work/blackbox.yml" <<YML
modules:
  http_2xx:
    prober: http
    timeout: 60s
    http:
      preferred_ip_protocol: ip4
YML

# The delay server runs at a real-time priority when it may, so that its own wake-ups are on
# time on a loaded machine; it still checks itself (late_us below).
$(rt_prefix) "$delay_server" "$server_port" 50 >"$work/delay.log" 2>&1 &
pids+=($!)
server_pid=$!
"$SONDE" --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$sonde_port" \
    --log.level=error --log.prober=error >"$work/sonde.log" 2>&1 &
pids+=($!)
sonde_pid=$!
"$EXPORTER" --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$exporter_port" \
    --log.level=error >"$work/exporter.log" 2>&1 &
pids+=($!)
exporter_pid=$!
wait_url "http://127.0.0.1:$server_port/stats" 10
wait_url "http://127.0.0.1:$sonde_port/-/healthy" 10
wait_url "http://127.0.0.1:$exporter_port/-/healthy" 10
target="http://127.0.0.1:$server_port/delay"

# quantiles FILE: "p50 p99 max count failed" of the error (ms) of the durations in FILE.
quantiles() {
    python3 - "$1" <<'PY'
import sys
errors, failed = [], 0
for line in open(sys.argv[1]):
    if line.startswith("# failed"):
        failed = int(line.split()[2])
    elif line.strip():
        errors.append((float(line) - 0.050) * 1000)
errors.sort()
def q(p):
    return errors[min(len(errors) - 1, int(p * len(errors)))] if errors else float("nan")
print("%.3f %.3f %.3f %d %d" % (q(0.5), q(0.99), errors[-1] if errors else float("nan"),
                                len(errors), failed))
PY
}

declare -A p99_of
rows=()
for level in $levels; do
    for prober in sonde exporter; do
        if [[ $prober == sonde ]]; then port=$sonde_port pid=$sonde_pid; else port=$exporter_port pid=$exporter_pid; fi
        alive "$pid" "$prober"
        say "timing truth: $prober, $level probes in flight, ${duration}s"
        curl -fs "http://127.0.0.1:$server_port/stats" >/dev/null  # resets the server's figures
        reset_hwm "$pid"
        ticks0=$(cpu_ticks "$pid")
        out=$(BENCH_DURATIONS="$work/durations" wrk -t"$wrk_threads" -c"$level" -d"${duration}s" \
            --timeout 60s --latency -s tests/bench/probe_duration.lua \
            "http://127.0.0.1:$port/probe?module=http_2xx&target=$target" 2>&1)
        ticks1=$(cpu_ticks "$pid")
        stats=$(curl -fs "http://127.0.0.1:$server_port/stats")
        read -r e50 e99 emax count failed <<<"$(quantiles "$work/durations")"
        rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
        l50=$(awk '$1 == "50%" {print $2}' <<<"$out")
        l99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        errs=$(awk '/Socket errors/ {sub(/^ *Socket errors: */, ""); print}' <<<"$out")
        late99=$(awk '{for (i = 1; i < NF; i++) if ($i == "late_us_p99") print $(i + 1)}' <<<"$stats")
        latemax=$(awk '{for (i = 1; i < NF; i++) if ($i == "late_us_max") print $(i + 1)}' <<<"$stats")
        maxopen=$(awk '{for (i = 1; i < NF; i++) if ($i == "max_open") print $(i + 1)}' <<<"$stats")
        cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$HZ" -v n="$count" \
            'BEGIN {if (n > 0) printf "%.3f", t * 1000 / hz / n; else print "-"}')
        p99_of[$prober.$level]=$e99
        rows+=("| $level | $prober | $rps | $e50 | $e99 | $emax | $l50 | $l99 | $count | $failed${errs:+ (wrk: $errs)} | $cpu | $((($(hwm_kb "$pid") + 512) / 1024)) | $maxopen | $late99 / $latemax |")
    done
done

echo "### Benchmark 3: timing truth (target answers after 50 ms)"
echo
echo "${duration} s per row, wrk -t$wrk_threads; load average at the end: $(loadavg)."
echo "Error = probe_duration_seconds - 50 ms, over the probes that succeeded. Server late = how much"
echo "later than arrival + 50 ms the delay server wrote its answer (p99 / max, µs): its own honesty. Server max open ="
echo "the most connections the delay server had open at once: the probes really in flight at the target."
echo "wrk read errors = /probe connections the prober closed without an answer (sonde refuses connections over its limit)."
echo
echo "| in flight | prober | probes/s | error p50 (ms) | error p99 (ms) | error max (ms) | /probe p50 (wrk) | /probe p99 (wrk) | probes ok | failed | CPU ms/probe | peak RSS MB | server max open | server late p99 / max (µs) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
for level in $levels; do
    s=${p99_of[sonde.$level]} e=${p99_of[exporter.$level]}
    if [[ $level == 1000 ]]; then
        verdict=$(awk -v s="$s" 'BEGIN {print (s == "nan") ? "n/a (no probe answered)" : (s < 1) ? "met" : "not met"}')
        echo "- Target \"p99 error under 1 ms at 1,000 concurrent probes\": sonde p99 error $s ms: **$verdict**."
    fi
    verdict=$(awk -v s="$s" -v e="$e" 'BEGIN {print (s == "nan" || e == "nan") ? "n/a (a prober answered no probe)" : (s + 0 <= e + 0) ? "met" : "not met"}')
    echo "- Target \"never worse than the exporter\" at $level: sonde $s ms vs exporter $e ms (p99): **$verdict**."
done

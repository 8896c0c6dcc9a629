#!/usr/bin/env python3
"""Figures of one scheduled-scale window from two /metrics snapshots of sonde (A at the start,
B at the end), for tests/bench/scheduled_targets.sh.

    sched_stats.py A B WINDOW_SECONDS CPU_TICKS HZ

A may be "-": B is then compared with zero (a window from sonde's start).

Prints `key value` lines: probes (finished in the window), rate (probes/s), cpu_us (CPU per
probe), lag_p50_ms, lag_p99_ms (interpolated inside the histogram's buckets, as PromQL's
histogram_quantile does), lag_le5ms (share of runs started at most 5 ms late, exact when 0.005
is a bucket bound), lag_max (the bucket holding the latest run), lag_buckets (the bounds),
util (event-loop utilisation over the window, from the idle-seconds counter), util_gauge (the
last-second gauge at B), results and up (targets with a probe_success series, and at 1, in B),
skipped (runs skipped in the window because the previous run of the target was still going).
"""
import math
import re
import sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)')


def read(path):
    values, buckets = {}, {}
    results = up = 0
    with open(path) as f:
        for line in f:
            if line.startswith("probe_success{"):
                results += 1
                up += line.rstrip().endswith(" 1")
                continue
            if not line.startswith("sonde_"):
                continue
            m = LINE.match(line)
            if not m:
                continue
            name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            if name == "sonde_scheduler_lag_seconds_bucket":
                le = re.search(r'le="([^"]+)"', labels).group(1)
                buckets[math.inf if le == "+Inf" else float(le)] = value
            elif name in ("sonde_probes_total",):
                values[name] = values.get(name, 0.0) + value
            else:
                values[name] = value
    return values, buckets, results, up


def quantile(q, bounds, cumulative):
    total = cumulative[-1]
    if total <= 0:
        return float("nan"), ""
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cum in zip(bounds, cumulative):
        if cum >= rank:
            if math.isinf(bound):
                return float("inf"), "> %g ms" % (lower * 1000)
            inside = cum - below
            share = (rank - below) / inside if inside > 0 else 1.0
            return (lower + (bound - lower) * share) * 1000, ""
        lower, below = bound, cum
    return float("nan"), ""


def main():
    a_path, b_path, seconds, ticks, hz = sys.argv[1:6]
    seconds, ticks, hz = float(seconds), float(ticks), float(hz)
    va, ba = ({}, {}) if a_path == "-" else read(a_path)[:2]
    vb, bb, results, up = read(b_path)
    probes = vb.get("sonde_probes_total", 0) - va.get("sonde_probes_total", 0)
    bounds = sorted(bb)
    cumulative = [bb[x] - ba.get(x, 0) for x in bounds]
    out = {
        "probes": "%d" % probes,
        "rate": "%.0f" % (probes / seconds),
        "cpu_us": "%.1f" % (ticks / hz / probes * 1e6) if probes > 0 else "-",
        "results": "%d" % results,
        "up": "%d" % up,
        "skipped": "%d" % (vb.get("sonde_scheduler_skipped_runs_total", 0)
                           - va.get("sonde_scheduler_skipped_runs_total", 0)),
        "lag_buckets": ",".join("%g" % (x * 1000) for x in bounds if not math.isinf(x)) + " ms",
    }
    for q, key in ((0.5, "lag_p50_ms"), (0.99, "lag_p99_ms")):
        value, text = quantile(q, bounds, cumulative)
        out[key] = text.replace(" ", "") if text else "%.2f" % value
    total = cumulative[-1] if cumulative else 0
    out["lag_le5ms"] = ("%.4f" % (cumulative[bounds.index(0.005)] / total)
                        if 0.005 in bounds and total > 0 else "-")
    out["lag_max"] = "-"
    previous = 0.0
    for bound, cum, before in zip(bounds, cumulative, [0.0] + cumulative[:-1]):
        if cum > before:
            out["lag_max"] = ("(%g,%s]ms" % (previous * 1000,
                                             "inf" if math.isinf(bound) else "%g" % (bound * 1000)))
        previous = bound
    idle = vb.get("sonde_event_loop_idle_seconds_total", 0) - va.get(
        "sonde_event_loop_idle_seconds_total", 0)
    out["util"] = "%.3f" % max(0.0, 1 - idle / seconds)
    out["util_gauge"] = "%.3f" % vb.get("sonde_event_loop_utilization", float("nan"))
    for key, value in out.items():
        print(key, value)


main()

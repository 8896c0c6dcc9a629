#!/usr/bin/env bash
# Benchmark 1, /probe throughput and cost: sonde and Debian's prometheus-blackbox-exporter,
# started with the same modules, each driven by the same wrk load (fixed connections, same
# duration), one after the other in the same run. Targets, all on loopback and started here:
# tcp_connect and http_2xx against an nginx (plain HTTP), https_2xx against the same nginx over
# TLS 1.3 (a self-signed certificate given to both probers as tls_config.ca_file, HTTP/1.1 only so
# that the exporter does not negotiate h2), dns against a dnsmasq, icmp to 127.0.0.1 (raw sockets:
# root). Each (module, prober) pair gets a 1 s warm-up, then the measured run.
# Prints two Markdown tables: the figures per prober (probes/s, CPU ms of the prober process per
# probe, p99 /probe latency, peak RSS during the run) and the ratios sonde / exporter against the
# issue's targets (CPU per probe at most 1/5 of the exporter's, 1/2 for https).
#
#   tests/bench/probe_throughput.sh [seconds=10] [connections=32] [modules="tcp_connect http_2xx https_2xx dns icmp"]
#
# Env: BENCH_PORT_BASE (default 19100), SONDE, EXPORTER, BENCH_WRK_THREADS (1).
# Needs: build/sonde, prometheus-blackbox-exporter, dnsmasq, nginx, openssl, wrk, curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/lib.sh
duration=${1:-10}
connections=${2:-32}
modules=${3:-"tcp_connect http_2xx https_2xx dns icmp"}
base=${BENCH_PORT_BASE:-19100}
wrk_threads=${BENCH_WRK_THREADS:-1}
sonde_port=$((base + 81)) exporter_port=$((base + 82)) dns_port=$((base + 53))
http_port=$((base + 80)) https_port=$((base + 43))

need wrk
need curl
need openssl
need /usr/sbin/nginx nginx
need /usr/sbin/dnsmasq dnsmasq
need "$EXPORTER" prometheus-blackbox-exporter
need_sonde
port_free "$sonde_port" "$exporter_port" "$dns_port" "$http_port" "$https_port"
raise_nofile

work=$(mktemp -d)
pids=()
trap 'stop_pids "${pids[@]}"; rm -rf "$work"' EXIT

# A self-signed certificate for 127.0.0.1; it is its own CA for both probers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
{
    [[ $(id -u) == 0 ]] && echo "user root;"
    cat <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$https_port ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    location = /ok { default_type text/plain; return 200 "healthy\n"; }
  }
}
NGINX
} >"$work/nginx.conf"
/usr/sbin/nginx -p "$work/nginx/" -c "$work/nginx.conf" -e "$work/nginx/logs/error.log" \
    -g 'daemon off;' >"$work/nginx.log" 2>&1 &
pids+=($!)

cat >"$work/blackbox.yml" <<YML
modules:
  tcp_connect:
    prober: tcp
  dns:
    prober: dns
    dns:
      query_name: probe.test
      query_type: A
      preferred_ip_protocol: ip4
  icmp:
    prober: icmp
    icmp:
      preferred_ip_protocol: ip4
  http_2xx:
    prober: http
    http:
      preferred_ip_protocol: ip4
      enable_http2: false
  https_2xx:
    prober: http
    http:
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      enable_http2: false
      tls_config:
        ca_file: $work/cert.pem
YML

/usr/sbin/dnsmasq --no-daemon --conf-file=/dev/null --pid-file= --port="$dns_port" \
    --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --address=/probe.test/127.0.0.1 >"$work/dnsmasq.log" 2>&1 &
pids+=($!)

"$SONDE" --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$sonde_port" \
    --log.level=error --log.prober=error >"$work/sonde.log" 2>&1 &
pids+=($!)
sonde_pid=$!
"$EXPORTER" --config.file="$work/blackbox.yml" \
    --web.listen-address="127.0.0.1:$exporter_port" --log.level=error >"$work/exporter.log" 2>&1 &
pids+=($!)
exporter_pid=$!
wait_url "http://127.0.0.1:$sonde_port/-/healthy" 10
wait_url "http://127.0.0.1:$exporter_port/-/healthy" 10
wait_url "http://127.0.0.1:$http_port/ok" 10

target_of() {
    case $1 in
        tcp_connect) echo "127.0.0.1:$http_port" ;;
        dns) echo "127.0.0.1:$dns_port" ;;
        icmp) echo 127.0.0.1 ;;
        http_2xx) echo "http://127.0.0.1:$http_port/ok" ;;
        https_2xx) echo "https://127.0.0.1:$https_port/ok" ;;
    esac
}
# The issue's target for the CPU ratio sonde / exporter.
target_ratio() { [[ $1 == https_2xx ]] && echo 0.5 || echo 0.2; }
# wrk's latency ("812.00us", "2.31ms", "1.02s") in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN {n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.2f", n}'; }

declare -A rps cpu p99 rss okay
run() {
    local name=$1 port=$2 pid=$3 module=$4
    local url="http://127.0.0.1:$port/probe?module=$module&target=$(target_of "$module")"
    alive "$pid" "$name"
    # The probe must succeed before its cost means anything.
    if curl -fs --max-time 10 "$url" | grep -q '^probe_success 1'; then okay[$name.$module]=yes; else okay[$name.$module]=NO; fi
    wrk -t"$wrk_threads" -c"$connections" -d1s "$url" >/dev/null 2>&1 || true
    reset_hwm "$pid"
    local before after out requests
    before=$(cpu_ticks "$pid")
    out=$(wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency "$url" 2>&1)
    after=$(cpu_ticks "$pid")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    rps[$name.$module]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    p99[$name.$module]=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    cpu[$name.$module]=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" \
        'BEGIN {if (n > 0) printf "%.3f", t * 1000 / hz / n; else print "-"}')
    rss[$name.$module]=$(awk -v k="$(hwm_kb "$pid")" 'BEGIN {printf "%.1f", k / 1024}')
    # A probe that failed under load is a result too: check once more after the run.
    if ! curl -fs --max-time 10 "$url" | grep -q '^probe_success 1'; then okay[$name.$module]=NO; fi
}

load_before=$(loadavg)
for module in $modules; do
    say "throughput: $module, $connections connections, ${duration}s per prober"
    run sonde "$sonde_port" "$sonde_pid" "$module"
    run exporter "$exporter_port" "$exporter_pid" "$module"
done

echo "### Benchmark 1: /probe throughput and cost"
echo
echo "wrk -t$wrk_threads -c$connections, ${duration} s per module and prober (after a 1 s warm-up); load average before $load_before, after $(loadavg)."
echo "CPU = user + system time of the prober process (all threads) / probes answered. Peak RSS = VmHWM, reset before each run."
echo
echo "| module | prober | probes/s | CPU ms/probe | /probe p99 ms | peak RSS MB | probe_success |"
echo "|---|---|---:|---:|---:|---:|---|"
for module in $modules; do
    for name in sonde exporter; do
        k=$name.$module
        echo "| $module | $name | ${rps[$k]} | ${cpu[$k]} | ${p99[$k]} | ${rss[$k]} | ${okay[$k]} |"
    done
done
echo
echo "Ratios sonde / exporter (CPU: lower is better; probes/s: higher is better):"
echo
echo "| module | CPU ms/probe ratio | target | met? | probes/s ratio | p99 ratio | peak RSS ratio |"
echo "|---|---:|---:|---|---:|---:|---:|"
for module in $modules; do
    s=sonde.$module e=exporter.$module
    r=$(ratio "${cpu[$s]}" "${cpu[$e]}")
    t=$(target_ratio "$module")
    met=$(awk -v r="$r" -v t="$t" 'BEGIN {if (r == "-") print "?"; else print (r <= t) ? "met" : "**not met**"}')
    [[ ${okay[$s]} == yes && ${okay[$e]} == yes ]] || met="? (a probe failed)"
    echo "| $module | $r | $(awk -v t="$t" 'BEGIN {printf "1/%d", 1 / t + 0.5}') | $met | $(ratio "${rps[$s]}" "${rps[$e]}") | $(ratio "${p99[$s]}" "${p99[$e]}") | $(ratio "${rss[$s]}" "${rss[$e]}") |"
done

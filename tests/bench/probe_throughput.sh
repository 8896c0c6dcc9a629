#!/usr/bin/env bash
# /probe throughput of sonde and of Debian's prometheus-blackbox-exporter, side by side: tcp_connect
# against a loopback listener, dns against a dnsmasq the script starts, icmp to 127.0.0.1 (needs
# root for raw sockets), http_2xx against sonde's own /-/healthy, https_2xx against an nginx the
# script starts (TLS 1.3, a self-signed certificate given to both as tls_config.ca_file, HTTP/1.1
# only, so that the exporter does not negotiate h2). Prints probes/s, CPU ms per probe, p99 and peak RSS for each.
#
#   tests/bench/probe_throughput.sh [seconds=10] [connections=32] [modules="tcp_connect dns icmp http_2xx https_2xx"]
#
# Needs: build/sonde, prometheus-blackbox-exporter, dnsmasq, nginx, openssl, wrk (apt-get install wrk).
# Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-10}
connections=${2:-32}
modules=${3:-"tcp_connect dns icmp http_2xx https_2xx"}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# A self-signed certificate for 127.0.0.1; it is its own CA for both probers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
{
    [ "$(id -u)" = 0 ] && echo "user root;"
    cat <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:19443 ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    location = /ok { default_type text/plain; return 200 "healthy\n"; }
  }
}
NGINX
} >"$work/nginx.conf"
/usr/sbin/nginx -p "$work/nginx/" -c "$work/nginx.conf" -e "$work/nginx/logs/error.log" \
    -g 'daemon off;' >/dev/null 2>&1 &

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
      tls_config:
        ca_file: $work/cert.pem
YML

/usr/sbin/dnsmasq --no-daemon --conf-file=/dev/null --pid-file= --port=19153 \
    --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --address=/probe.test/127.0.0.1 >/dev/null 2>&1 &

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

target_of() {
    case $1 in
        tcp_connect) echo 127.0.0.1:19181 ;;
        dns) echo 127.0.0.1:19153 ;;
        icmp) echo 127.0.0.1 ;;
        http_2xx) echo http://127.0.0.1:19181/-/healthy ;;
        https_2xx) echo https://127.0.0.1:19443/ok ;;
    esac
}

run() {
    local name=$1 port=$2 pid=$3 module=$4
    local url="http://127.0.0.1:$port/probe?module=$module&target=$(target_of "$module")"
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

for module in $modules; do
    echo "$module, $connections connections, ${duration}s each"
    run sonde 19181 "$sonde_pid" "$module"
    run exporter 19182 "$exporter_pid" "$module"
done

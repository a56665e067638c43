#!/usr/bin/env bash
# The ceiling under Tao's gateway: what YARP alone (Kestrel + YARP's forwarder, none of Tao's pipeline) serves against
# nginx proxy_pass on this machine, built as the gateway ships (JIT) and with Native AOT, next to Tao itself. Same
# static upstream as `./tao bench gateway --upstream static` (nginx `return 200` with a fixed 30-word chat completion),
# wrk 2 threads × 64 connections; every variant is a fresh process that takes WARM seconds of load first (default 30),
# then 15 s measured, the variants alternating round by round so the machine's drift hits them all. Prints req/s, p99,
# the proxy's CPU and its RSS with the anonymous part.
#
#   tools/proxy-ceiling.sh [ROUNDS]      (default 2; needs nginx, wrk, and a C toolchain for the AOT build)
#
# Tao's rows run the build in artifacts/ (./tao build first); "capture on" captures to the embedded store.
set -euo pipefail
rounds=${1:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/static-upstream.sh
. "$root/tools/static-upstream.sh"
bench_work
upstream_port=18200 proxy_port=18201

echo "publishing YARP alone, JIT and Native AOT ..."
dotnet publish "$root/tools/yarp-alone/YarpAlone.csproj" -c Release -o "$work/jit" -nologo -v:q -clp:ErrorsOnly > /dev/null
dotnet publish "$root/tools/yarp-alone/YarpAlone.csproj" -c Release -p:Aot=true -o "$work/aot" -nologo -v:q -clp:ErrorsOnly > /dev/null

start_static_upstream "$work" "$upstream_port"
nginx_conf "$work" proxy "  upstream upstream { server 127.0.0.1:$upstream_port; keepalive 256; }
  server {
    listen 127.0.0.1:$proxy_port;
    location / { proxy_pass http://upstream; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; }
  }"
tao_config "$work/tao-off.json" "$proxy_port" "$upstream_port" false ceiling
tao_config "$work/tao-on.json" "$proxy_port" "$upstream_port" true ceiling
tao="$root/artifacts/bin/Tao.Cli/release_linux-x64/tao"
variants=("nginx proxy_pass" "YARP alone, JIT" "YARP alone, Native AOT")
if [ -x "$tao" ]; then variants+=("tao, capture off" "tao, capture on"); fi

start() {
  case "$1" in
    "nginx proxy_pass") exec nginx -c "$work/proxy.conf" -e "$work/proxy-error.log" ;;
    "YARP alone, JIT") exec "$work/jit/YarpAlone" "$proxy_port" "http://127.0.0.1:$upstream_port/" ;;
    "YARP alone, Native AOT") exec "$work/aot/YarpAlone" "$proxy_port" "http://127.0.0.1:$upstream_port/" ;;
    "tao, capture off") rm -rf "$work/data"; exec env DOTNET_TC_CallCountingDelayMs=0 "$tao" gateway --config "$work/tao-off.json" --data "$work/data" ;;
    "tao, capture on") rm -rf "$work/data"; exec env DOTNET_TC_CallCountingDelayMs=0 "$tao" gateway --config "$work/tao-on.json" --data "$work/data" ;;
  esac
}

url="http://127.0.0.1:$proxy_port/v1/chat/completions"
for round in $(seq 1 "$rounds"); do
  for variant in "${variants[@]}"; do
    start "$variant" > "$work/proxy.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 1200); do curl -s -o /dev/null -X POST "$url" && break; sleep 0.05; done
    wrk -t2 -c64 -d"${WARM:-30}"s -s "$work/body.lua" "$url" > /dev/null
    cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat")
    result=$(wrk -t2 -c64 -d15s --latency -s "$work/body.lua" "$url" | wrk_summary)
    cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
    rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$pid/status")
    anon=$(awk '/RssAnon/{print int($2/1024)}' "/proc/$pid/status")
    echo "round $round, $variant: $result, CPU $(echo "scale=2; ($cpu1-$cpu0)/100/15" | bc) cores, RSS $rss MiB ($anon anonymous)"
    kill "$pid"
    wait "$pid" 2> /dev/null || true
  done
done

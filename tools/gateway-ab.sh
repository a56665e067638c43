#!/usr/bin/env bash
# A/B of gateway variants against a static upstream (nginx `return 200` with a fixed chat completion), the variants
# alternating round by round so the machine's drift hits them all. Each variant is a fresh gateway process that takes
# 30 s of load first, then 15 s measured (wrk, 2 threads, 64 connections); it prints req/s, p99, the gateway's CPU
# (in cores, and in µs a request with the embedded engine's threads' part of it), its RSS with the anonymous part, and
# its garbage collections (per second by generation, mean pause, share of the time paused) and the managed memory it
# allocated a request, from its /metrics.
#
#   tools/gateway-ab.sh ROUNDS on|off 'label|tao-binary-folder|ENV=value ...' ['label|folder|ENV ...' ...]
#   (a folder holding tao-gateway, e.g. artifacts/publish/tao-gateway, runs the native gateway)
#   e.g. tools/gateway-ab.sh 2 on 'pgo-off|artifacts/bin/Tao.Cli/release_linux-x64|X=1' \
#                                 'pgo-on|artifacts/bin/Tao.Cli/release_linux-x64|DOTNET_TieredPGO=1'
#
# "on" captures to the embedded store, "off" captures nothing. COLD=1 measures the cold start instead: from the moment
# /readyz answers 200 (what a load balancer waits for), 15 one-second wrk windows, printed as req/s per second, with
# the seconds from the process's start to ready. Needs nginx and wrk (./tao bench installs them).
# Copy the build elsewhere first when a variant is another build: a build into artifacts/ under a running gateway
# replaces its files.
set -euo pipefail
rounds=$1 mode=$2
shift 2
upstream_port=18100 gateway_port=18101
# shellcheck source=tools/static-upstream.sh
. "$(dirname "$0")/static-upstream.sh"
bench_work
start_static_upstream "$work" "$upstream_port"
tao_config "$work/tao.json" "$gateway_port" "$upstream_port" "$([ "$mode" = on ] && echo true || echo false)" ab
url="http://127.0.0.1:$gateway_port/v1/chat/completions"
# engine_ticks PID: CPU ticks of the process's threads that are neither .NET's nor Tao's (the embedded engine's own threads).
engine_ticks() {
  cat /proc/"$1"/task/*/stat 2> /dev/null | awk '{comm=$0; sub(/^[^(]*\(/, "", comm); sub(/\).*/, "", comm)
    rest=$0; sub(/^.*\) /, "", rest); split(rest, f, " ")
    if (comm !~ /^(\.NET|tao|Kestrel|Console)/) t+=f[12]+f[13]} END {print t+0}'
}
# gc_counts: the gateway's collections by generation, its total GC pause seconds and the bytes it allocated (its /metrics,
# the runtime meter).
gc_counts() {
  curl -s "http://127.0.0.1:$gateway_port/metrics" | awk '
    /^dotnet_gc_collections_total/ {g=$0; sub(/.*gc_heap_generation="/, "", g); sub(/".*/, "", g); c[g]=$NF}
    /^dotnet_gc_pause_time_seconds_total/ {p=$NF}
    /^dotnet_gc_heap_total_allocated_bytes_total/ {a=$NF}
    END {printf "%d %d %d %.6f %.0f", c["gen0"], c["gen1"], c["gen2"], p, a}'
}
# gc_rates BEFORE AFTER SECONDS REQUESTS: collections per second by generation, the mean pause, and the managed bytes
# allocated a request.
gc_rates() {
  read -r a0 a1 a2 ap aa <<< "$1"
  read -r b0 b1 b2 bp ba <<< "$2"
  local n=$(( (b0 - a0) + (b1 - a1) + (b2 - a2) ))
  [ "$n" -gt 0 ] || n=1
  echo "GC $(echo "scale=1; ($b0 - $a0) / $3" | bc)/$(echo "scale=2; ($b1 - $a1) / $3" | bc)/$(echo "scale=2; ($b2 - $a2) / $3" | bc) per s (gen0/1/2)," \
    "pause $(echo "scale=3; ($bp - $ap) * 1000 / $n" | bc) ms mean, $(echo "scale=1; ($bp - $ap) * 100 / $3" | bc) % of the time;" \
    "$(echo "scale=1; ($ba - $aa) / 1024 / $4" | bc) KiB allocated a request"
}
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    IFS='|' read -r label bin envs <<< "$spec"
    started=$(date +%s.%N)
    # shellcheck disable=SC2086 # the variant's environment is a list of words on purpose
    start_gateway "$bin" "$work/tao.json" $envs
    wait_ready "$gateway_port"
    if [ "${COLD:-0}" = 1 ]; then
      ready=$(echo "$(date +%s.%N) - $started" | bc)
      windows=""
      for _ in $(seq 1 15); do
        windows="$windows $(wrk -t2 -c64 -d1s -s "$work/body.lua" "$url" | awk '/Requests\/sec/{printf "%.1fk", $2/1000}')"
      done
      echo "round $round $label: ready after ${ready:0:5} s; req/s per second of load:$windows"
      stop_gateway
      continue
    fi
    wrk -t2 -c64 -d30s -s "$work/body.lua" "$url" > /dev/null
    cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat") engine0=$(engine_ticks "$pid") gc0=$(gc_counts)
    result=$(wrk -t2 -c64 -d15s --latency -s "$work/body.lua" "$url" | wrk_summary)
    cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat") engine1=$(engine_ticks "$pid") gc1=$(gc_counts)
    rps=${result%% req/s*}
    rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$pid/status")
    anon=$(awk '/RssAnon/{print int($2/1024)}' "/proc/$pid/status")
    echo "round $round $label: $result, gateway CPU $(echo "scale=2; ($cpu1-$cpu0)/100/15" | bc) cores" \
      "($(echo "($cpu1-$cpu0)*10000/($rps*15)" | bc) µs a request, $(echo "($engine1-$engine0)*10000/($rps*15)" | bc) of them the engine's threads)," \
      "RSS $rss MiB ($anon anonymous); $(gc_rates "$gc0" "$gc1" 15 $((rps * 15)))"
    stop_gateway
  done
done

#!/usr/bin/env bash
# Where a gateway's memory goes under load. Starts the static upstream (nginx `return 200`), a gateway of the build in
# BIN capturing to the embedded store ("embedded"), to a store process of its own (`tao store serve`, "store"), or not
# at all ("off"), with the launcher's runtime settings; loads it (wrk, 2 threads, 64 connections) for LOAD seconds
# (default 30), then, still under load, prints its resident memory (anonymous and file-backed), the largest mappings,
# and the collector's committed memory and heap by generation after its last collection (from /metrics). With
# GCDUMP=1 it also prints the largest live objects by type (dotnet-gcdump, installed as a .NET tool into
# .tao/tools when missing; collecting it forces a full collection, so the figures after it are printed too).
#
# With SOAK=seconds it loads the gateway at a fixed rate instead (RATE, default 1000 requests/s) and prints its RSS
# every 10 s and the drift after the first minute.
#
#   tools/gateway-memory.sh BIN embedded|store|off [ENV=value ...]
#   e.g. GCDUMP=1 tools/gateway-memory.sh artifacts/bin/Tao.Cli/release_linux-x64 store
#        tools/gateway-memory.sh artifacts/publish/tao-gateway store      (the native gateway)
#
# Copy the build elsewhere first when building meanwhile: a build into artifacts/ under a running gateway replaces its files.
set -euo pipefail
bin=$(cd "$1" && pwd) mode=$2
shift 2
upstream_port=18200 gateway_port=18201 store_port=18202
# shellcheck shell=bash source=tools/static-upstream.sh
. "$(dirname "$0")/static-upstream.sh"
bench_work
start_static_upstream "$work" "$upstream_port"
tao_config "$work/tao.json" "$gateway_port" "$upstream_port" "$([ "$mode" = off ] && echo false || echo true)" memory
if [ "$mode" = store ]; then
  start_store_process "$bin" "$store_port"
  python3 - "$work/tao.json" "$store_port" "$store_password" <<'PY'
import json, sys
path, port, password = sys.argv[1], sys.argv[2], sys.argv[3]
config = json.load(open(path))
config["Tao"]["ClickHouse"] = {"Url": f"http://127.0.0.1:{port}", "Username": "tao", "Password": password}
json.dump(config, open(path, "w"), indent=1)
PY
fi
# The settings ./tao gives a gateway (see ./tao): the variant's own environment words come after, so they win.
start_gateway "$bin" "$work/tao.json" DOTNET_TC_CallCountingDelayMs=0 DOTNET_GCgen0size=0x1000000 "$@"
wait_ready "$gateway_port"
url="http://127.0.0.1:$gateway_port/v1/chat/completions"
if [ -n "${SOAK:-}" ]; then
  # Soak: a fixed rate (RATE, default 1000 requests/s, over 64 connections) for SOAK seconds; the gateway's RSS (and
  # the store process's) every 10 s, then the drift after the first minute as a least-squares slope.
  "$(tao_cli "$bin")" bench load --url "http://127.0.0.1:$gateway_port" --rate "${RATE:-1000}" --duration "$SOAK" --warmup 0 \
    > "$work/soak.txt" 2>&1 &
  load=$!
  start=$(date +%s)
  : > "$work/rss.txt"
  while kill -0 "$load" 2> /dev/null; do
    store_kib=$([ -n "${store_pid:-}" ] && awk '/^VmRSS/{print $2}' "/proc/$store_pid/status" || echo 0)
    echo "$(($(date +%s) - start)) $(awk '/^VmRSS/{print $2}' "/proc/$pid/status") ${store_kib:-0}" >> "$work/rss.txt"
    sleep 10
  done
  wait "$load" || true
  [ -n "${OUT:-}" ] && mkdir -p "$OUT" && cp "$work/rss.txt" "$work/soak.txt" "$OUT/"
  grep -o 'latency p50 [^;]*\|[0-9]* errors\|requests [^;]*' "$work/soak.txt" | head -3
  awk '{printf "%s%d", (NR > 1 ? ", " : "gateway RSS MiB every 10 s: "), $2/1024} END {print ""}' "$work/rss.txt"
  [ "$mode" = store ] && awk '{printf "%s%d", (NR > 1 ? ", " : "store process RSS MiB: "), $3/1024} END {print ""}' "$work/rss.txt"
  awk '$1 >= 60 {n++; x+=$1/60; y+=$2/1024; xx+=($1/60)^2; xy+=($1/60)*$2/1024; if (min == "" || $2 < min) min=$2; if ($2 > max) max=$2}
    END {if (n < 2 || n*xx == x*x) {print "after the first minute: too few samples for a drift"; exit}
      b=(n*xy-x*y)/(n*xx-x*x); printf "after the first minute: %d samples, %d-%d MiB, slope %+.1f MiB/min\n", n, min/1024, max/1024, b}' "$work/rss.txt"
  stop_gateway
  exit 0
fi
echo "load ${LOAD:-30} s: $(wrk -t2 -c64 -d"${LOAD:-30}"s --latency -s "$work/body.lua" "$url" | wrk_summary)"
wrk -t2 -c64 -d60s -s "$work/body.lua" "$url" > /dev/null &
load=$!
sleep 10
# memory: RSS with its anonymous and file-backed parts, then the collector's view from /metrics.
memory() {
  awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} /^RssShmem/{s=$2}
    END {printf "RSS %d MiB: anonymous %d, file-backed %d, shared memory %d (the JIT'"'"'s double-mapped code)\n", r/1024, a/1024, f/1024, s/1024}' "/proc/$pid/status"
  curl -s "http://127.0.0.1:$gateway_port/metrics" | awk '
    /^dotnet_gc_last_collection_memory_committed_size_bytes/ {c=$NF}
    /^dotnet_gc_last_collection_heap_size_bytes/ {g=$0; sub(/.*gc_heap_generation="/, "", g); sub(/".*/, "", g); h[g]=$NF}
    /^dotnet_gc_last_collection_heap_fragmentation_size_bytes/ {g=$0; sub(/.*gc_heap_generation="/, "", g); sub(/".*/, "", g); fr[g]=$NF}
    END {printf "GC committed %.1f MB; heap after the last collection (fragmentation) MB: gen0 %.1f, gen1 %.1f (%.1f), gen2 %.1f (%.1f), large objects %.1f (%.1f), pinned %.1f\n",
      c/1e6, h["gen0"]/1e6, h["gen1"]/1e6, fr["gen1"]/1e6, h["gen2"]/1e6, fr["gen2"]/1e6, h["loh"]/1e6, fr["loh"]/1e6, h["poh"]/1e6}'
}
memory
echo "largest mappings (resident KiB):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; if (name == "") name="[anonymous]"} /^Rss:/{r[name]+=$2}
  END {for (n in r) printf "%9d  %s\n", r[n], n}' "/proc/$pid/smaps" | sort -rn | head -12
if [ "${GCDUMP:-0}" = 1 ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  gcdump=$root/.tao/tools/dotnet-gcdump
  [ -x "$gcdump" ] || dotnet tool install --tool-path "$root/.tao/tools" dotnet-gcdump > /dev/null
  "$gcdump" collect -p "$pid" -o "$work/heap.gcdump" > /dev/null
  "$gcdump" report "$work/heap.gcdump" | head -20
  sleep 5
  echo "after the full collection the dump forced:"
  memory
fi
wait "$load"
stop_gateway

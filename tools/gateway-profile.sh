#!/usr/bin/env bash
# Where a warm gateway's CPU goes under load: one gateway process on the static upstream (as tools/gateway-ab.sh), 30 s
# of load first, then `perf record -g` at 499 Hz on all its threads for 15 s while wrk (2 threads, 64 connections) keeps
# it busy (W^X off, so perf can name the JIT's code from the runtime's perf map). Prints req/s and p99 of the measured
# window, the samples by where they fall (kernel, JIT-compiled .NET code, the runtime, the embedded engine, other
# libraries), the samples per 1000 requests by what the work is for (tools/perf-categories.py: the proxy, the record,
# the engine, GC...), the inclusive share of the frames in FRAMES and the top frames by their own samples.
#
#   tools/gateway-profile.sh on|off [tao-binary-folder] [ENV=value ...]
#   e.g. tools/gateway-profile.sh on artifacts/bin/Tao.Cli/release_linux-x64
#
# "on" captures to the embedded store, "off" captures nothing. OUT=folder keeps perf.data and the reports there.
# Needs perf, nginx and wrk.
set -euo pipefail
mode=$1
bin=${2:-artifacts/bin/Tao.Cli/release_linux-x64}
shift $(($# < 2 ? $# : 2))
upstream_port=18110 gateway_port=18111
# shellcheck source=tools/static-upstream.sh
. "$(dirname "$0")/static-upstream.sh"
bench_work
out=${OUT:-$work}
mkdir -p "$out"
start_static_upstream "$work" "$upstream_port"
tao_config "$work/tao.json" "$gateway_port" "$upstream_port" "$([ "$mode" = on ] && echo true || echo false)" profile
url="http://127.0.0.1:$gateway_port/v1/chat/completions"
start_gateway "$bin" "$work/tao.json" DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "$@"
wait_ready "$gateway_port"
wrk -t2 -c64 -d30s -s "$work/body.lua" "$url" > /dev/null
wrk -t2 -c64 -d17s --latency -s "$work/body.lua" "$url" > "$work/wrk.txt" &
wrk_pid=$!
sleep 1
perf record -q -F 499 -g -p "$pid" -o "$out/perf.data" -- sleep 15 2> /dev/null
wait "$wrk_pid"
echo "capture $mode: $(wrk_summary < "$work/wrk.txt")"
rps=$(awk '/Requests\/sec/{print $2}' "$work/wrk.txt")
stop_gateway

perf report -i "$out/perf.data" --no-children --sort dso --stdio 2> /dev/null | grep -v '^#' | grep -v '^$' > "$out/by-dso.txt"
echo "samples by where they fall:"
awk '$1 ~ /%$/ {share=$1; sub(/%/, "", share); dso=$2
      if (dso ~ /kernel/) k+=share; else if (dso ~ /^perf-[0-9]+\.map$/ || dso ~ /^\[JIT\]/) j+=share
      else if (dso ~ /libcoreclr|libclrjit|System\.Private\.CoreLib/) r+=share; else if (dso ~ /chdb/) e+=share; else o+=share }
     END {printf "  kernel %.1f %%, JIT-compiled .NET %.1f %%, runtime %.1f %%, embedded engine %.1f %%, other %.1f %%\n", k, j, r, e, o}' "$out/by-dso.txt"
perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2> /dev/null | grep -v '^#' | grep -v '^$' > "$out/by-symbol.txt"
echo "inclusive share of named frames:"
for frame in ${FRAMES:-HttpForwarder::SendAsync CaptureRecorder::Complete RequestInspector CaptureSpool::Append CaptureJson \
    GCHeap::GarbageCollect gc_heap::garbage_collect SinkShipper ClickHouseSink JsonSerializer Utf8JsonWriter \
    Http1Connection KestrelConnection SocketsHttpHandler HttpConnection::SendAsync}; do
  awk -v f="$frame" 'index($0, f) {print "  " f ": " $1; exit}' "$out/by-symbol.txt"
done
perf script -i "$out/perf.data" -F comm,ip,sym --no-inline 2> /dev/null > "$out/script.txt"
"$(dirname "$0")/perf-categories.py" "$out/script.txt" "$rps" 15
echo "top self frames:"
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio -g none 2> /dev/null | grep -v '^#' | grep -v '^$' | sed -n 1,40p

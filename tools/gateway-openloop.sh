#!/usr/bin/env bash
# Open-loop latency of gateway variants against a static upstream (nginx `return 200` with a fixed chat completion):
# each variant a fresh gateway process, loaded at a fixed rate over 64 connections (`tao bench load --rate`), 15 s of
# warm-up then 30 s measured; prints p50 / p99 / p99.9. The variants alternate round by round so drift hits them all.
# Below saturation this is the latency a caller adds by going through the gateway, where tools/gateway-ab.sh (closed
# loop) measures throughput and the queueing of a saturated machine.
#
#   tools/gateway-openloop.sh ROUNDS RATE 'label|on or off|tao-binary-folder|ENV=value ...' [...]
#   e.g. tools/gateway-openloop.sh 2 1000 'on|on|artifacts/bin/Tao.Cli/release_linux-x64|X=1' \
#                                          'linger10s|on|artifacts/bin/Tao.Cli/release_linux-x64|Tao__Capture__ClickHouse__LingerMs=10000'
#
# "on" captures to the embedded store, "off" captures nothing. Needs nginx (./tao bench installs it). Copy the build
# elsewhere first when a variant is another build (a build into artifacts/ under a running gateway replaces its files).
set -euo pipefail
rounds=$1 rate=$2
shift 2
upstream_port=18200 gateway_port=18201
# shellcheck source=tools/static-upstream.sh
. "$(dirname "$0")/static-upstream.sh"
bench_work
start_static_upstream "$work" "$upstream_port"
tao_config "$work/on.json" "$gateway_port" "$upstream_port" true openloop
tao_config "$work/off.json" "$gateway_port" "$upstream_port" false openloop
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    IFS='|' read -r label mode bin envs <<< "$spec"
    # shellcheck disable=SC2086 # the variant's environment is a list of words on purpose
    start_gateway "$bin" "$work/$mode.json" $envs
    wait_ready "$gateway_port"
    result=$("$(tao_cli "$bin")" bench load --url "http://127.0.0.1:$gateway_port" --rate "$rate" --duration 30 --warmup 15 2>&1 | grep -o 'latency p50 [^;]*')
    echo "round $round $label: $result"
    stop_gateway
  done
done

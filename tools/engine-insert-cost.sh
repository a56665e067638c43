#!/usr/bin/env bash
# What the ClickHouse engine spends inserting capture records, by input format and by what the table does with them.
# A gateway of the build in BIN captures ROWS calls on the static upstream (capture on, no sink reached: the records
# stay in its spool); those records, as the spool holds them, are read out of the spool's segment and inserted into a
# store process of their own (`tao store serve`), eight inserts of ROWS rows each per variant, as the ClickHouse sink
# ships them (at most 10,000 records a batch, ClickHouseSinkOptions.MaxBatchRecords). Prints the store process's CPU a row (its
# user+system time over the inserts, every thread) and the wall time a row; "+ after" is the CPU of the next 6 s
# (background merges). Variants: the captures table as created (ReplacingMergeTree, the traffic rollup's view), the
# same table without the view, a Null table (the rows received and read, nothing stored), and the same rows as RowBinary and Native (ClickHouse's
# own encodings, exported from the table), which the spool does not hold and the sink would have to encode.
#
#   tools/engine-insert-cost.sh [BIN]        e.g. tools/engine-insert-cost.sh artifacts/bin/Tao.Cli/release_linux-x64
#
# ROWS=10000 by default. Needs nginx, curl and python3.
set -euo pipefail
bin=$(cd "${1:-artifacts/bin/Tao.Cli/release_linux-x64}" && pwd)
rows=${ROWS:-10000}
upstream_port=18500 gateway_port=18501 store_port=18502
# shellcheck source=tools/static-upstream.sh
. "$(dirname "$0")/static-upstream.sh"
bench_work
start_static_upstream "$work" "$upstream_port"
tao_config "$work/tao.json" "$gateway_port" "$upstream_port" true engine
# Capture on with no sink: every record stays in the spool, as written.
python3 - "$work/tao.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["Tao"]["Capture"]["ClickHouse"]["Enabled"] = False
json.dump(config, open(sys.argv[1], "w"), indent=1)
PY
start_gateway "$bin" "$work/tao.json"
wait_ready "$gateway_port"
"$(tao_cli "$bin")" bench load --url "http://127.0.0.1:$gateway_port" --rate 4000 --duration $((rows / 4000 + 2)) --warmup 0 > /dev/null
stop_gateway
python3 - "$work/data" "$rows" "$work/rows.jsonl" <<'PY'
import glob, json, sys
folder, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
decoder, found = json.JSONDecoder(), []
for segment in sorted(glob.glob(f"{folder}/**/*.seg", recursive=True)):
    data, i = open(segment, "rb").read(), 0
    while len(found) < count:
        j = data.find(b'{"schema_version"', i)
        if j < 0:
            break
        text = data[j:j + (1 << 20)].decode("utf-8", "replace")
        _, end = decoder.raw_decode(text)
        found.append(text[:end])
        i = j + len(text[:end].encode())
if len(found) < count:
    sys.exit(f"only {len(found)} records in the spool")
open(out, "w").write("\n".join(found) + "\n")
print(f"{len(found)} records from the spool, {sum(map(len, found)) / len(found):.0f} bytes each on average")
PY

start_store_process "$bin" "$store_port"
store=$store_pid password=$store_password
trap 'kill $(jobs -p) 2> /dev/null || true; wait "$store" 2> /dev/null || true; rm -rf "$work"' EXIT
q() { curl -sS --fail-with-body -u "tao:$password" "http://127.0.0.1:$store_port/" --data-binary "$1"; }
q "CREATE TABLE tao.captures_no_view AS tao.captures"
q "CREATE TABLE tao.captures_null AS tao.captures ENGINE = Null"
json_settings='input_format_json_read_objects_as_strings=1&input_format_json_read_arrays_as_strings=1&input_format_skip_unknown_fields=1&date_time_input_format=best_effort'
curl -sf -u "tao:$password" "http://127.0.0.1:$store_port/?query=INSERT%20INTO%20tao.captures_no_view%20FORMAT%20JSONEachRow&$json_settings" \
  --data-binary @"$work/rows.jsonl"
for format in RowBinary Native; do q "SELECT * FROM tao.captures_no_view FORMAT $format" > "$work/rows.$format"; done
q "TRUNCATE TABLE tao.captures_no_view"

ticks() { awk '{print $14 + $15}' "/proc/$store/stat"; }
hz=$(getconf CLK_TCK)
measure() {
  local label=$1 table=$2 format=$3 file=$4 settings=$5
  local c0 c1 c2 t0 t1
  c0=$(ticks); t0=$(date +%s.%N)
  for _ in 1 2 3 4 5 6 7 8; do
    curl -sf -u "tao:$password" "http://127.0.0.1:$store_port/?query=INSERT%20INTO%20$table%20FORMAT%20$format&$settings" --data-binary @"$file" > /dev/null
  done
  t1=$(date +%s.%N); c1=$(ticks)
  sleep 6
  c2=$(ticks)
  awk -v l="$label" -v f="$format" -v n=$((rows * 8)) -v a="$c0" -v b="$c1" -v c="$c2" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    'BEGIN {printf "| %s | %s | %.1f | %.1f | %.1f |\n", l, f, (b - a) * 1e6 / hz / n, (t1 - t0) * 1e6 / n, (c - b) * 1e6 / hz / n}'
}
echo "| table | format | store CPU µs a row | wall µs a row | + after (merges), µs a row |"
echo "|---|---|---:|---:|---:|"
measure "captures (as created)" tao.captures JSONEachRow "$work/rows.jsonl" "$json_settings"
measure "captures without the rollup view" tao.captures_no_view JSONEachRow "$work/rows.jsonl" "$json_settings"
measure "Null (rows read, nothing stored)" tao.captures_null JSONEachRow "$work/rows.jsonl" "$json_settings"
for format in RowBinary Native; do
  measure "captures without the rollup view" tao.captures_no_view "$format" "$work/rows.$format" ""
  measure "Null (rows read, nothing stored)" tao.captures_null "$format" "$work/rows.$format" ""
done
measure "captures (as created), again" tao.captures JSONEachRow "$work/rows.jsonl" "$json_settings"

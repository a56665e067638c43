# Sourced (not run) by the harnesses in tools/ (gateway-ab, gateway-profile, gateway-memory, gateway-openloop,
# proxy-ceiling, engine-insert-cost): the static upstream they measure against (nginx `return 200` with a fixed 30-word
# chat completion, as `./tao bench gateway --upstream static`), wrk's request body, a Tao gateway's configuration, a
# store process of its own, and what each does with a started process and wrk.

static_answer='{"id":"chatcmpl-static","object":"chat.completion","created":1764633600,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four twenty-five twenty-six twenty-seven twenty-eight twenty-nine thirty"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}}'

# nginx_conf WORK NAME HTTP-LINES: WORK/NAME.conf, one worker in the foreground, the given lines inside its http block.
nginx_conf() {
  mkdir -p "$1/body" "$1/proxy"
  cat > "$1/$2.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $1/$2.pid;
error_log $1/$2-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1/body;
  proxy_temp_path $1/proxy;
$3
}
CONF
}

# static_upstream WORK PORT: WORK/upstream.conf, the static upstream on PORT.
static_upstream() {
  nginx_conf "$1" upstream "  server {
    listen 127.0.0.1:$2;
    location / { default_type application/json; return 200 '$static_answer'; }
  }"
}

# start_static_upstream WORK PORT: the static upstream written and started (a job of the calling shell), and
# WORK/body.lua written.
start_static_upstream() {
  static_upstream "$1" "$2"
  nginx -c "$1/upstream.conf" -e "$1/upstream-error.log" &
  body_lua "$1"
}

# bench_work: a scratch folder in $work, removed (and the calling shell's jobs killed) when the calling script exits.
bench_work() {
  work=$(mktemp -d)
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
}

# start_gateway BIN CONFIG [ENV=value ...]: a gateway of the build in BIN with a fresh data folder ($work/data), started
# as a job of the calling shell with its output in $work/gateway.log; its process id in $pid. BIN holding tao-gateway
# (the native gateway, e.g. artifacts/publish/tao-gateway) runs that; otherwise its tao binary's `tao gateway`.
start_gateway() {
  local bin=$1 config=$2
  shift 2
  rm -rf "$work/data" && mkdir -p "$work/data"
  if [ -x "$bin/tao-gateway" ]; then
    env "$@" "$bin/tao-gateway" --config "$config" --data "$work/data" > "$work/gateway.log" 2>&1 &
  else
    env "$@" "$bin/tao" gateway --config "$config" --data "$work/data" > "$work/gateway.log" 2>&1 &
  fi
  pid=$!
}

# tao_cli BIN: the tao binary for commands other than the gateway — BIN's own, or for a native gateway's folder the
# CLI built beside it (artifacts/bin/Tao.Cli/release_linux-x64).
tao_cli() {
  if [ -x "$1/tao" ]; then echo "$1/tao"; else echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/artifacts/bin/Tao.Cli/release_linux-x64/tao"; fi
}

# start_store_process BIN PORT: a store of its own (`tao store serve` of BIN's CLI, data in $work/store, output in
# $work/store.log) on PORT, started as a job of the calling shell with a fresh password; its process id in $store_pid,
# the password in $store_password. Returns once its schema is migrated (it answers /ping before that).
start_store_process() {
  store_password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  Tao__ClickHouse__EmbeddedHttpPassword=$store_password "$(tao_cli "$1")" store serve --port "$2" --data "$work/store" > "$work/store.log" 2>&1 &
  store_pid=$!
  for _ in $(seq 1 1200); do
    [ "$(curl -s -u "tao:$store_password" "http://127.0.0.1:$2/" --data-binary "EXISTS TABLE tao.captures" 2> /dev/null)" = 1 ] && return
    sleep 0.1
  done
}

# stop_gateway: ends the process $pid and waits for it.
stop_gateway() {
  kill "$pid"
  wait "$pid" 2> /dev/null || true
}

# wait_ready PORT: until a gateway on PORT answers /readyz (at most a minute).
wait_ready() {
  for _ in $(seq 1 1200); do curl -sf "http://127.0.0.1:$1/readyz" > /dev/null && return; sleep 0.05; done
}

# wrk_summary: reads wrk's --latency output, prints "N req/s, p99 X".
wrk_summary() {
  awk '/Requests\/sec/{rps=$2} / 99%/{p99=$2} END{printf "%d req/s, p99 %s", rps, p99}'
}

# body_lua WORK: WORK/body.lua, wrk's POST of a chat completion for bench-model.
body_lua() {
  cat > "$1/body.lua" <<'LUA'
wrk.method = "POST"
wrk.body = [==[{"model":"bench-model","messages":[{"role":"user","content":"hello benchmark, please answer"}]}]==]
wrk.headers["Content-Type"] = "application/json"
LUA
}

# tao_config FILE GATEWAY-PORT UPSTREAM-PORT CAPTURE(true|false) INSTANCE: a gateway anyone may call, bench-model routed
# to the upstream, capturing to the embedded store or not.
tao_config() {
  cat > "$1" <<JSON
{
  "Logging": { "LogLevel": { "Default": "Warning" } },
  "Tao": {
    "Gateway": { "Urls": "http://127.0.0.1:$2", "InstanceId": "$5" },
    "Auth": { "AllowAnonymous": true, "AdminKey": "$5-admin-key" },
    "Capture": { "Enabled": $4, "ClickHouse": { "Enabled": $4 }, "Kafka": { "Enabled": false } },
    "Models": { "bench-model": { "Cluster": "upstream" } }
  },
  "ReverseProxy": { "Clusters": { "upstream": { "Destinations": { "d1": { "Address": "http://127.0.0.1:$3/" } } } } }
}
JSON
}

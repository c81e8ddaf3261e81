#!/usr/bin/env bash
# Short wrk runs against one server, one line per run: how the 64
# connections fell between the workers (read mid-run), requests/s, p50,
# p99 and the workers' CPU per request. For looking at the spread behind
# the medians of bench/http_bench.py (see docs/http.md, "How it runs").
#
#   bench/http_rounds.sh hyper|fjord|demo [runs] [seconds]
#
# Needs wrk, ss, and the release builds (bench/run.sh builds them). Every
# run is bounded by its seconds; the server is started here and stopped
# by its PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?usage: bench/http_rounds.sh hyper|fjord|demo [runs] [seconds]}
runs=${2:-8}
secs=${3:-4}
port=${HTTP_ROUNDS_PORT:-18100}
case "$which" in
  hyper) cmd=(target/release/hyper-prefork --workers 2 --port "$port") ;;
  fjord) cmd=(target/release/examples/http_hello --workers 2 --port "$port") ;;
  demo)
    state=$(mktemp -d)
    export OS_DEFAULT__OSAPI_DEMO_LISTEN_PORT=$port OS_DEFAULT__OSAPI_DEMO_WORKERS=2 \
      OS_DEFAULT__STATE_PATH=$state OS_DEFAULT__LOG_OPTIONS=false RUST_LOG=warn
    cmd=(target/release/demo-api --config-file etc/demo/demo.conf) ;;
  *) echo "unknown server $which (hyper, fjord or demo)" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
[ -x "${cmd[0]}" ] || { echo "${cmd[0]} is not built (bench/run.sh builds it)" >&2; exit 1; }

"${cmd[@]}" >/dev/null 2>&1 &
server=$!
out=$(mktemp)
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$out" ${state:+"$state"}' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/hello" && break
  sleep 0.1
done

# utime+stime of the workers in clock ticks (fields after the command name,
# which may hold spaces).
ticks() {
  local t=0 c
  for c in $(pgrep -P "$server"); do
    t=$((t + $(sed 's/.*) //' "/proc/$c/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

printf '%-6s %-10s %9s %9s %9s %14s\n' run split req/s p50 p99 "CPU/req (us)"
for r in $(seq "$runs"); do
  t0=$(ticks)
  wrk -t2 -c64 -d"${secs}s" --latency "http://127.0.0.1:$port/hello" >"$out" &
  w=$!
  sleep $((secs / 2))
  split=$(ss -tnpH state established "( sport = :$port )" | grep -o 'pid=[0-9]*' |
    sort | uniq -c | sort -rn | awk '{print $1}' | paste -sd/)
  wait "$w"
  t1=$(ticks)
  req=$(awk '/requests in/{print $1}' "$out")
  rps=$(awk '/Requests\/sec/{printf "%d", $2}' "$out")
  p50=$(awk '$1=="50%"{print $2}' "$out")
  p99=$(awk '$1=="99%"{print $2}' "$out")
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$req" -v hz="$hz" 'BEGIN{printf "%.2f", (b - a) * 1e6 / hz / n}')
  printf '%-6s %-10s %9s %9s %9s %14s\n' "$r" "$split" "$rps" "$p50" "$p99" "$cpu"
done

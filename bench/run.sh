#!/usr/bin/env bash
# Runs the benchmarks: each prints a table comparing fjord against its
# baseline (Python oslo.service) measured in the same run, and writes
# bench/results/; then draws bench/results/chart.svg for the README.
# Every load is bounded in time and stops by itself. Needs wrk
# (apt-get install wrk) and the venv (scripts/setup-oslo-venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${FJORD_OSLO_VENV:-$PWD/.venv}"
if [ -x "$venv/bin/pip" ] && ! "$venv/bin/python" -c 'import oslo_service' 2>/dev/null; then
  "$venv/bin/pip" install -q oslo.service
fi
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --profile dist --example workers -p fjord-service --example http_hello -p fjord
cargo build --profile dist -p fjord-demo -p hyper-prefork
cargo build --profile dist -p fjord-messaging --example rpc_bench
python3 bench/launcher_bench.py
python3 bench/http_bench.py
python3 bench/diagnostics_bench.py  # the cost of metrics on the hot path: http_hello and RPC calls, diagnostics on vs off (RPC needs RabbitMQ)
python3 bench/replace_bench.py    # worker replacement under keep-alive load (fjord, nginx, oslo)
python3 bench/rpc_bench.py        # needs RabbitMQ on 127.0.0.1:5672
cargo bench -p fjord-http --bench http_primitives   # src/rt against the tokio primitives (bench/results/http-primitives.md)
python3 bench/chart.py
python3 bench/readme_tables.py

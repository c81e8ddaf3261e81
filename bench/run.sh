#!/usr/bin/env bash
# Runs the benchmarks; each prints a table comparing fjord against its
# baseline measured in the same run, and writes bench/results/.
# Bounded in time: every load stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${FJORD_OSLO_VENV:-$PWD/.venv}"
if [ -x "$venv/bin/pip" ] && ! "$venv/bin/python" -c 'import oslo_service' 2>/dev/null; then
  "$venv/bin/pip" install -q oslo.service
fi
cargo build --release --example workers
python3 bench/launcher.py

#!/usr/bin/env bash
# The loom model tests of fjord-http's runtime primitives (src/rt): every
# interleaving of the pool's, the signal word's and the timeout sweep's
# atomics and locks, within loom's preemption bound.
#
# `--cfg loom` goes to fjord-http alone (in RUSTFLAGS it would switch
# tokio, bytes and others to their own loom code paths too), so the test
# binary is built with `cargo rustc` and run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
exe=$(cargo rustc -q -p fjord-http --lib --profile bench --message-format=json -- --cfg loom \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
[ -n "$exe" ] || { echo "loom.sh: no test binary built" >&2; exit 1; }
exec "$exe" loom_tests

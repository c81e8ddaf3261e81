#!/usr/bin/env bash
# The test command of fjord (README): every test of the workspace.
#
# Tests that need RabbitMQ (127.0.0.1:5672), PostgreSQL (127.0.0.1:5432),
# the Python oslo.messaging venv or the throwaway Keystone
# (scripts/keystone.sh) skip themselves when those are missing, and this
# script says so up front. With FJORD_REQUIRE_SERVICES=1 (CI) a missing
# one is a failure instead of a skip.
set -uo pipefail
cd "$(dirname "$0")/.."

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
venv="${FJORD_OSLO_VENV:-$PWD/.venv}"
missing=0
check() { # name, ok?, how to get it
  if [ "$2" = yes ]; then
    echo "test.sh: $1: available"
  else
    missing=1
    echo "test.sh: SKIPPING tests that need $1 (not available; $3)"
  fi
}
check "RabbitMQ on 127.0.0.1:5672" "$(port_open 5672 && echo yes || echo no)" "start it with: rabbitmq-server -detached"
check "PostgreSQL on 127.0.0.1:5432" "$(port_open 5432 && echo yes || echo no)" "start it with: pg_ctlcluster \$(ls /etc/postgresql) main start"
check "RabbitMQ TLS listener on 127.0.0.1:5671" "$(port_open 5671 && echo yes || echo no)" "start a throwaway one with: scripts/rabbitmq-tls.sh"
check "RabbitMQ cluster (target/rabbitmq-cluster.env)" "$([ -s target/rabbitmq-cluster.env ] && port_open 5681 && echo yes || echo no)" "start a throwaway one with: scripts/rabbitmq-cluster.sh start"
check "Python oslo.messaging venv at $venv" "$([ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import oslo_messaging' 2>/dev/null && echo yes || echo no)" "create it with: scripts/setup-oslo-venv.sh"
check "Keystone for fjord-keystone (target/keystone/env)" "$(scripts/keystone.sh status >/dev/null 2>&1 && echo yes || echo no)" "start a throwaway one with: scripts/keystone.sh start"
if [ "$missing" = 1 ] && [ "${FJORD_REQUIRE_SERVICES:-0}" = 1 ]; then
  echo "test.sh: FJORD_REQUIRE_SERVICES=1 and something is missing: failing" >&2
  exit 1
fi
export FJORD_OSLO_VENV="$venv"
# Each test that skips appends a `SKIPPED test: why` line here
# (fjord-test-support's skip policy); the summary below counts them.
FJORD_SKIP_LOG=$(mktemp "${TMPDIR:-/tmp}/fjord-skipped.XXXXXX")
export FJORD_SKIP_LOG
cargo test --workspace "$@"
rc=$?
skipped=$(grep -c . "$FJORD_SKIP_LOG")
if [ "$skipped" -gt 0 ]; then
  echo "test.sh: $skipped test(s) SKIPPED (counted as passed by cargo):"
  sed 's/^/  /' "$FJORD_SKIP_LOG"
else
  echo "test.sh: no test skipped"
fi
rm -f "$FJORD_SKIP_LOG"
exit "$rc"

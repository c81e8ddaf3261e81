#!/usr/bin/env bash
# Create (or reuse) a Python venv with oslo.messaging, oslo.versionedobjects and
# oslo.policy (the versions the fixtures in ../shared were made with) for
# fjord's interop tests.
#
# Usage: scripts/setup-oslo-venv.sh
#   FJORD_OSLO_VENV  venv path (default: <repo root>/.venv)
#   PYTHON           interpreter to create it with (default: python3.11, else python3)
#
# Idempotent: when the venv already imports the pinned oslo.messaging, it exits at once.
set -euo pipefail

OSLO_MESSAGING_VERSION="18.3.1"
OSLO_VERSIONEDOBJECTS_VERSION="3.12.0"
OSLO_POLICY_VERSION="6.0.1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${FJORD_OSLO_VENV:-$repo_root/.venv}"

if [ -z "${PYTHON:-}" ]; then
    if command -v python3.11 >/dev/null 2>&1; then
        PYTHON=python3.11
    else
        PYTHON=python3
    fi
fi

check() {
    "$venv/bin/python" - "$OSLO_MESSAGING_VERSION" "$OSLO_VERSIONEDOBJECTS_VERSION" \
        "$OSLO_POLICY_VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
import oslo_messaging, oslo_versionedobjects, oslo_policy, oslo_context  # noqa: F401
wanted = {"oslo.messaging": sys.argv[1], "oslo.versionedobjects": sys.argv[2],
          "oslo.policy": sys.argv[3]}
sys.exit(0 if all(version(k) == v for k, v in wanted.items()) else 1)
PY
}

if [ -x "$venv/bin/python" ] && check; then
    echo "oslo.messaging $OSLO_MESSAGING_VERSION, oslo.versionedobjects $OSLO_VERSIONEDOBJECTS_VERSION, oslo.policy $OSLO_POLICY_VERSION already in $venv"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv $venv with $PYTHON"
    "$PYTHON" -m venv "$venv"
fi

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "oslo.messaging==$OSLO_MESSAGING_VERSION" \
    "oslo.versionedobjects==$OSLO_VERSIONEDOBJECTS_VERSION" \
    "oslo.policy==$OSLO_POLICY_VERSION"

if ! check; then
    echo "error: the pinned oslo libraries did not install into $venv" >&2
    exit 1
fi
echo "oslo.messaging $OSLO_MESSAGING_VERSION, oslo.versionedobjects $OSLO_VERSIONEDOBJECTS_VERSION, oslo.policy $OSLO_POLICY_VERSION ready in $venv"

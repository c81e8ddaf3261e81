#!/usr/bin/env bash
# A throwaway OpenStack Keystone 30.0.0 on loopback for fjord-keystone's
# tests (sqlite + fernet tokens under gunicorn; ../shared/KEYSTONE.md has
# the verified recipe this follows).
#
# Usage: scripts/keystone.sh start | stop | status
#
#   start   creates the venv once (keystone 30.0.0, keystonemiddleware
#           13.0.1, gunicorn 27.0.1, pinned by scripts/keystone-constraints.txt),
#           then, unless this instance already answers, wipes the state
#           directory, sets Keystone up and serves it on a free loopback
#           port (5000 when free), and writes the facts tests need to
#           $dir/env (KEY=value lines, printed too). Idempotent; bounded
#           in time.
#   stop    stops the instance by the PID it recorded, removes its state.
#   status  prints the env file when the instance answers, else exits 1.
#
# Users (passwords are test-only):
#   admin          / admin-secret   project admin, role admin (and the implied
#                                   manager, member, reader), system admin
#   fjord-member   / member-secret  project fjord-demo, role member only
#   fjord-service  / service-secret project service, role service: the
#                                   [keystone_authtoken] service user
#
# Environment:
#   FJORD_KEYSTONE_DIR   state directory (default <repo>/target/keystone);
#                        several instances can run with different dirs
#   FJORD_KEYSTONE_PORT  port (default 5000 when free, else one the kernel picks)
#   FJORD_KEYSTONE_VENV  venv (default <repo>/.venv-keystone)
#   PYTHON               interpreter for the venv (Python >= 3.11)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${FJORD_KEYSTONE_DIR:-$repo_root/target/keystone}"
venv="${FJORD_KEYSTONE_VENV:-$repo_root/.venv-keystone}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
export PYTHONWARNINGS=ignore # eventlet's deprecation banner on every keystone-manage run

ADMIN_PASSWORD=admin-secret
MEMBER_USER=fjord-member
MEMBER_PASSWORD=member-secret
MEMBER_PROJECT=fjord-demo
SERVICE_USER=fjord-service
SERVICE_PASSWORD=service-secret
SERVICE_PROJECT=service

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers() { # the recorded instance is alive and serves /v3
  [ -f "$dir/env" ] || return 1
  local pid url
  pid=$(sed -n 's/^KS_PID=//p' "$dir/env")
  url=$(sed -n 's/^KS_URL=//p' "$dir/env")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && curl -sf --max-time 5 -o /dev/null "$url"
}

stop() {
  if [ -f "$dir/gunicorn.pid" ]; then
    local pid
    pid=$(cat "$dir/gunicorn.pid")
    kill "$pid" 2>/dev/null || true # the master; its worker follows
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  stop)
    stop
    echo "keystone: stopped ($dir)"
    exit 0
    ;;
  status)
    if answers; then cat "$dir/env"; exit 0; fi
    echo "keystone: not running ($dir)" >&2
    exit 1
    ;;
  start) ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

if answers; then
  echo "keystone: already running ($dir/env)"
  cat "$dir/env"
  exit 0
fi

# 1. the venv, once
if [ ! -x "$venv/bin/keystone-manage" ] || [ ! -x "$venv/bin/gunicorn" ]; then
  echo "keystone: creating $venv (about 30 s)"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    -c "$repo_root/scripts/keystone-constraints.txt" \
    keystone==30.0.0 keystonemiddleware==13.0.1 gunicorn==27.0.1
fi

# 2. fresh state and config
stop
mkdir -p "$dir"
port="${FJORD_KEYSTONE_PORT:-}"
if [ -z "$port" ]; then
  if ! port_open 5000; then
    port=5000
  else
    port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  fi
fi
url="http://127.0.0.1:$port/v3"
cat >"$dir/keystone.conf" <<EOF
[DEFAULT]
log_file = $dir/keystone.log
[database]
connection = sqlite:///$dir/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $dir/fernet-keys
[fernet_receipts]
key_repository = $dir/fernet-receipts
[credential]
key_repository = $dir/credential-keys
[identity]
# bcrypt cost 4 instead of 12: a password login in ~10 ms (test only)
password_hash_rounds = 4
EOF
km() { "$venv/bin/keystone-manage" --config-file "$dir/keystone.conf" "$@" >>"$dir/manage.log" 2>&1; }
me_user=$(id -un)
me_group=$(id -gn)
km db_sync
km fernet_setup --keystone-user "$me_user" --keystone-group "$me_group"
km credential_setup --keystone-user "$me_user" --keystone-group "$me_group"
km bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
  --bootstrap-admin-url "$url/" --bootstrap-public-url "$url/" \
  --bootstrap-internal-url "$url/" --bootstrap-region-id RegionOne

# 3. serve keystone.wsgi.api:application; the shim hides gunicorn's
#    arguments from oslo.config, which parses sys.argv when the app is built.
#    One thread: SQLite lets one writer in at a time, and concurrent logins
#    (last_active_at) and revocations otherwise fail with "database is locked".
cat >"$dir/ks_wsgi.py" <<'EOF'
import sys
sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
EOF
OS_KEYSTONE_CONFIG_FILES="$dir/keystone.conf" setsid "$venv/bin/gunicorn" \
  --chdir "$dir" --bind "127.0.0.1:$port" --workers 1 --threads 1 \
  --no-control-socket --pid "$dir/gunicorn.pid" \
  --access-logfile "$dir/access.log" ks_wsgi:application \
  >"$dir/gunicorn.out" 2>&1 </dev/null &
for _ in $(seq 300); do # <= 30 s
  curl -sf --max-time 2 -o /dev/null "$url" && break
  sleep 0.1
done
if ! curl -sf --max-time 2 -o /dev/null "$url"; then
  echo "keystone: did not answer on $url within 30 s" >&2
  tail -30 "$dir/gunicorn.out" >&2
  exit 1
fi

# 4. the member user and the service user
jget() { "$venv/bin/python" -c 'import json,sys;d=json.load(sys.stdin);print(eval(sys.argv[1]))' "$1"; }
token() { # user password project -> the X-Subject-Token
  curl -sf --max-time 10 -D - -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$1\",\"domain\":{\"id\":\"default\"},\"password\":\"$2\"}}},\"scope\":{\"project\":{\"name\":\"$3\",\"domain\":{\"id\":\"default\"}}}}}" \
    "$url/auth/tokens" | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' | tr -d '\r'
}
admin_token=$(token admin "$ADMIN_PASSWORD" admin)
H=(-sf --max-time 10 -H "X-Auth-Token: $admin_token" -H 'Content-Type: application/json')
role_id() { curl "${H[@]}" "$url/roles?name=$1" | jget "d['roles'][0]['id']"; }
new_project() { curl "${H[@]}" -d "{\"project\":{\"name\":\"$1\",\"domain_id\":\"default\"}}" "$url/projects" | jget "d['project']['id']"; }
new_user() { # name password project_id
  curl "${H[@]}" -d "{\"user\":{\"name\":\"$1\",\"domain_id\":\"default\",\"password\":\"$2\",\"default_project_id\":\"$3\"}}" "$url/users" | jget "d['user']['id']"
}
service_project_id=$(new_project "$SERVICE_PROJECT")
service_user_id=$(new_user "$SERVICE_USER" "$SERVICE_PASSWORD" "$service_project_id")
curl "${H[@]}" -X PUT "$url/projects/$service_project_id/users/$service_user_id/roles/$(role_id service)"
member_project_id=$(new_project "$MEMBER_PROJECT")
member_user_id=$(new_user "$MEMBER_USER" "$MEMBER_PASSWORD" "$member_project_id")
curl "${H[@]}" -X PUT "$url/projects/$member_project_id/users/$member_user_id/roles/$(role_id member)"

cat >"$dir/env.tmp" <<EOF
KS_URL=$url
KS_PORT=$port
KS_PID=$(cat "$dir/gunicorn.pid")
KS_DIR=$dir
KS_ADMIN_USER=admin
KS_ADMIN_PASSWORD=$ADMIN_PASSWORD
KS_ADMIN_PROJECT=admin
KS_ADMIN_USER_ID=$(curl "${H[@]}" "$url/users?name=admin" | jget "d['users'][0]['id']")
KS_ADMIN_PROJECT_ID=$(curl "${H[@]}" "$url/projects?name=admin" | jget "d['projects'][0]['id']")
KS_MEMBER_USER=$MEMBER_USER
KS_MEMBER_PASSWORD=$MEMBER_PASSWORD
KS_MEMBER_PROJECT=$MEMBER_PROJECT
KS_MEMBER_USER_ID=$member_user_id
KS_MEMBER_PROJECT_ID=$member_project_id
KS_SERVICE_USER=$SERVICE_USER
KS_SERVICE_PASSWORD=$SERVICE_PASSWORD
KS_SERVICE_PROJECT=$SERVICE_PROJECT
KS_SERVICE_USER_ID=$service_user_id
KS_SERVICE_PROJECT_ID=$service_project_id
EOF
mv "$dir/env.tmp" "$dir/env"
echo "keystone: running on $url ($dir/env)"
cat "$dir/env"

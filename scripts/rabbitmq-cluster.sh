#!/usr/bin/env bash
# Starts (or stops) a throwaway two-node RabbitMQ cluster on this host for
# the fault tests (crates/fjord-messaging/tests/it/fault_*.rs), beside the
# machine's node on 127.0.0.1:5672, which it never touches.
#
#   scripts/rabbitmq-cluster.sh start   # both nodes up and clustered (idempotent)
#   scripts/rabbitmq-cluster.sh stop    # both nodes stopped, their files removed
#   scripts/rabbitmq-cluster.sh status  # cluster_status of node 1
#
# Node i (1, 2) is fjord-cluster<i>@localhost with AMQP on 127.0.0.1:$((5680+i))
# and Erlang distribution on 127.0.0.1:$((25680+i)); its config, env file,
# data, logs and pid file live in ${FJORD_RABBIT_CLUSTER_DIR:-/tmp/fjord-rabbit-cluster}/n<i>,
# owned by the rabbitmq user, and the nodes share a private HOME (with its own
# .erlang.cookie) there. The facts this follows are in ../shared/RABBITMQ_CLUSTER.md.
#
# `start` writes target/rabbitmq-cluster.env (KEY=value lines: the node
# names, ports, the HOME the CLI needs) for the tests, which skip (or fail
# under FJORD_REQUIRE_SERVICES=1) without it. Bounded in time: each node
# has 90 s to start.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${FJORD_RABBIT_CLUSTER_DIR:-/tmp/fjord-rabbit-cluster}"
state="$PWD/target/rabbitmq-cluster.env"
home="$dir/home"
bin=/usr/lib/rabbitmq/bin

node() { echo "fjord-cluster$1@localhost"; }
port() { echo $((5680 + $1)); }
dist() { echo $((25680 + $1)); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# rabbitmqctl as the cluster's CLI: the private HOME holds its cookie.
ctl() { HOME="$home" RABBITMQ_CONF_ENV_FILE="$dir/env.conf" timeout 60 "$bin/rabbitmqctl" "$@"; }

stop_node() { # i
  local i=$1 pidfile="$dir/n$1/node.pid"
  [ -s "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  ctl -n "$(node "$i")" stop "$pidfile" >/dev/null 2>&1 || true
  # Still there (the CLI could not reach it): end that process, by its pid.
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

start_node() { # i
  local i=$1 d="$dir/n$1"
  mkdir -p "$d/mnesia" "$d/log"
  printf 'listeners.tcp.local = 127.0.0.1:%s\nloopback_users.guest = true\n' "$(port "$i")" > "$d/rabbitmq.conf"
  echo "[]." > "$d/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$d"
  # runuser resets HOME; every setting is passed explicitly.
  setsid runuser -u rabbitmq -- env \
    HOME="$home" \
    RABBITMQ_CONF_ENV_FILE="$dir/env.conf" \
    RABBITMQ_NODENAME="$(node "$i")" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$(port "$i")" \
    RABBITMQ_DIST_PORT="$(dist "$i")" \
    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" \
    RABBITMQ_LOG_BASE="$d/log" \
    RABBITMQ_PID_FILE="$d/node.pid" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    "$bin/rabbitmq-server" >"$d/log/console.log" 2>&1 < /dev/null &
  for _ in $(seq 180); do [ -s "$d/node.pid" ] && break; sleep 0.5; done
  ctl -n "$(node "$i")" wait --timeout 90 "$d/node.pid" >/dev/null ||
    { echo "rabbitmq-cluster: $(node "$i") did not start; logs in $d/log" >&2; return 1; }
}

case "${1:-}" in
  start)
    if [ -s "$state" ] && port_open "$(port 1)" && port_open "$(port 2)" &&
       ctl -n "$(node 1)" cluster_status 2>/dev/null | grep -q "$(node 2)"; then
      echo "rabbitmq-cluster: already running ($state)"
      exit 0
    fi
    command -v runuser >/dev/null && [ -x "$bin/rabbitmq-server" ] ||
      { echo "rabbitmq-cluster: needs RabbitMQ ($bin) and runuser, as root" >&2; exit 1; }
    for i in 1 2; do
      if port_open "$(port "$i")" && ! [ -s "$dir/n$i/node.pid" ]; then
        echo "rabbitmq-cluster: port $(port "$i") is in use by something else" >&2; exit 1
      fi
    done
    stop_node 1; stop_node 2
    rm -rf "$dir" "$state"
    mkdir -p "$home"
    chmod 755 "$dir"
    echo "ERL_EPMD_ADDRESS=127.0.0.1" > "$dir/env.conf"
    head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$home/.erlang.cookie"
    chmod 400 "$home/.erlang.cookie"
    chown -R rabbitmq:rabbitmq "$home"
    t0=$(date +%s)
    start_node 1
    start_node 2
    ctl -n "$(node 2)" stop_app >/dev/null
    ctl -n "$(node 2)" reset >/dev/null
    ctl -n "$(node 2)" join_cluster "$(node 1)" >"$dir/join.log" 2>&1
    ctl -n "$(node 2)" start_app >/dev/null
    ctl -n "$(node 1)" cluster_status | grep -q "$(node 2)" ||
      { echo "rabbitmq-cluster: node 2 did not join" >&2; exit 1; }
    mkdir -p "$(dirname "$state")"
    cat > "$state" <<EOF
FJORD_CLUSTER_NODE1=$(node 1)
FJORD_CLUSTER_PORT1=$(port 1)
FJORD_CLUSTER_NODE2=$(node 2)
FJORD_CLUSTER_PORT2=$(port 2)
FJORD_CLUSTER_HOME=$home
FJORD_CLUSTER_ENV_FILE=$dir/env.conf
EOF
    echo "rabbitmq-cluster: $(node 1) on 127.0.0.1:$(port 1) and $(node 2) on 127.0.0.1:$(port 2), clustered in $(( $(date +%s) - t0 )) s (state: $state)"
    ;;
  stop)
    stop_node 2; stop_node 1
    rm -rf "$dir" "$state"
    echo "rabbitmq-cluster: stopped and removed"
    ;;
  status)
    ctl -n "$(node 1)" cluster_status
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Starts (or stops) a throwaway RabbitMQ cluster on this host for the fault
# tests (crates/fjord-messaging/tests/it/fault_*.rs), beside the machine's
# node on 127.0.0.1:5672, which it never touches.
#
#   scripts/rabbitmq-cluster.sh start   # every node up and clustered (idempotent)
#   scripts/rabbitmq-cluster.sh stop    # every node stopped, their files removed
#   scripts/rabbitmq-cluster.sh status  # cluster_status of node 1
#
# Three nodes by default (FJORD_RABBIT_CLUSTER_NODES, 2 or more): a quorum
# queue needs a majority of its members, so on two nodes losing one stops
# every quorum queue (a confirmed publish then times out) and node loss
# cannot be survived; with three, any one node can go.
#
# Node i is fjord-cluster<i>@localhost with AMQP on 127.0.0.1:$((5680+i))
# and Erlang distribution on 127.0.0.1:$((25680+i)); its config, data, logs
# and pid file live in ${FJORD_RABBIT_CLUSTER_DIR:-/tmp/fjord-rabbit-cluster}/n<i>,
# owned by the rabbitmq user; the nodes share an env file and a private HOME
# (with its own .erlang.cookie) there. Nodes 2.. join node 1 with
# join_cluster. The facts this follows are in ../shared/RABBITMQ_CLUSTER.md.
#
# `start` writes target/rabbitmq-cluster.env (KEY=value lines: the node
# names, ports, the HOME and CLI the tests need), which the tests read
# (fjord_test_support::skip::rabbit_cluster); they skip (or fail under
# FJORD_REQUIRE_SERVICES=1) without it. Bounded in time: each node has
# 90 s to start.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${FJORD_RABBIT_CLUSTER_DIR:-/tmp/fjord-rabbit-cluster}"
state="$PWD/target/rabbitmq-cluster.env"
home="$dir/home"
bin=/usr/lib/rabbitmq/bin
n="${FJORD_RABBIT_CLUSTER_NODES:-3}"

node() { echo "fjord-cluster$1@localhost"; }
port() { echo $((5680 + $1)); }
dist() { echo $((25680 + $1)); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# rabbitmqctl as the cluster's CLI: the private HOME holds its cookie (not
# /usr/sbin/rabbitmqctl, which runs as the rabbitmq user with its own HOME).
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
    [ "$n" -ge 2 ] 2>/dev/null || { echo "rabbitmq-cluster: FJORD_RABBIT_CLUSTER_NODES must be 2 or more" >&2; exit 2; }
    if [ -s "$state" ] && grep -qx "FJORD_CLUSTER_NODES=$n" "$state"; then
      up=yes
      status=$(ctl -n "$(node 1)" cluster_status --formatter json 2>/dev/null || true)
      for i in $(seq "$n"); do
        port_open "$(port "$i")" && [[ "$status" == *"$(node "$i")"* ]] || up=no
      done
      if [ "$up" = yes ]; then
        echo "rabbitmq-cluster: already running ($state)"
        exit 0
      fi
    fi
    command -v runuser >/dev/null && [ -x "$bin/rabbitmq-server" ] ||
      { echo "rabbitmq-cluster: needs RabbitMQ ($bin) and runuser, as root" >&2; exit 1; }
    for i in $(seq "$n"); do
      if port_open "$(port "$i")" && ! [ -s "$dir/n$i/node.pid" ]; then
        echo "rabbitmq-cluster: port $(port "$i") is in use by something else" >&2; exit 1
      fi
    done
    for i in $(seq 9); do stop_node "$i"; done
    rm -rf "$dir" "$state"
    mkdir -p "$home"
    chmod 755 "$dir"
    echo "ERL_EPMD_ADDRESS=127.0.0.1" > "$dir/env.conf"
    head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$home/.erlang.cookie"
    chmod 400 "$home/.erlang.cookie"
    chown -R rabbitmq:rabbitmq "$home"
    t0=$(date +%s)
    for i in $(seq "$n"); do start_node "$i"; done
    for i in $(seq 2 "$n"); do
      ctl -n "$(node "$i")" stop_app >/dev/null
      ctl -n "$(node "$i")" reset >/dev/null
      ctl -n "$(node "$i")" join_cluster "$(node 1)" >"$dir/join$i.log" 2>&1
      ctl -n "$(node "$i")" start_app >/dev/null
    done
    status=$(ctl -n "$(node 1)" cluster_status --formatter json)
    for i in $(seq "$n"); do
      [[ "$status" == *"$(node "$i")"* ]] ||
        { echo "rabbitmq-cluster: $(node "$i") did not join" >&2; exit 1; }
    done
    mkdir -p "$(dirname "$state")"
    {
      echo "FJORD_CLUSTER_NODES=$n"
      for i in $(seq "$n"); do
        echo "FJORD_CLUSTER_NODE$i=$(node "$i")"
        echo "FJORD_CLUSTER_PORT$i=$(port "$i")"
      done
      echo "FJORD_CLUSTER_HOME=$home"
      echo "FJORD_CLUSTER_ENV_FILE=$dir/env.conf"
      echo "FJORD_CLUSTER_CTL=$bin/rabbitmqctl"
    } > "$state"
    echo "rabbitmq-cluster: $n nodes on 127.0.0.1:$(port 1)..$(port "$n") clustered in $(( $(date +%s) - t0 )) s (state: $state)"
    ;;
  stop)
    for i in $(seq 9 -1 1); do stop_node "$i"; done
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

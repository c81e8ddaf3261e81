#!/usr/bin/env bash
# Starts a second, throwaway RabbitMQ node with a TLS listener on
# 127.0.0.1:5671 for tests/rabbit_tls.rs (TLS to the broker), next to the
# machine's node on 5672, which it does not touch. Idempotent; bounded in
# time. `--stop` stops this node only.
#
# Files (certificates, config, data, logs) live in
# ${FJORD_RABBIT_TLS_DIR:-/tmp/fjord-rabbit-tls}: ca.pem (the CA the test
# trusts), server.pem/server.key (CN localhost, SAN localhost and
# 127.0.0.1), other-ca.pem (a CA that did not sign the server: the test's
# "wrong CA" case), client.pem/client.key (a client certificate from ca.pem)
# and other-client.pem/other-client.key (one from other-ca.pem). The
# listener verifies a client certificate when one is presented
# (verify_peer) and accepts clients without one.
set -euo pipefail
dir="${FJORD_RABBIT_TLS_DIR:-/tmp/fjord-rabbit-tls}"
node="fjord-tls@localhost"
port=5671
export RABBITMQ_NODENAME="$node"
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
export RABBITMQ_MNESIA_BASE="$dir/mnesia"
export RABBITMQ_LOG_BASE="$dir/log"
export RABBITMQ_PID_FILE="$dir/node.pid"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
export RABBITMQ_DIST_PORT=25673
export RABBITMQ_NODE_PORT=5673  # no plain listener is configured; keeps the default free

if [ "${1:-}" = "--stop" ]; then
  rabbitmqctl -n "$node" stop >/dev/null 2>&1 || true
  echo "rabbitmq-tls: $node stopped"
  exit 0
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_open "$port"; then
  echo "rabbitmq-tls: TLS listener already on 127.0.0.1:$port ($dir)"
  exit 0
fi
command -v rabbitmq-server >/dev/null || { echo "rabbitmq-tls: rabbitmq-server is not installed" >&2; exit 1; }
command -v openssl >/dev/null || { echo "rabbitmq-tls: openssl is not installed" >&2; exit 1; }

mkdir -p "$dir/mnesia" "$dir/log"
cd "$dir"
if [ ! -s server.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fjord test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fjord other CA" \
    -keyout other-ca.key -out other-ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile server.ext -out server.pem 2>/dev/null
fi
if [ ! -s other-client.pem ]; then
  for who in client:ca other-client:other-ca; do
    name=${who%%:*}; ca=${who##*:}
    openssl req -newkey rsa:2048 -nodes -subj "/CN=fjord $name" \
      -keyout "$name.key" -out "$name.csr" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
      -days 3650 -extfile client.ext -out "$name.pem" 2>/dev/null
  done
fi
cat > rabbitmq.conf <<CONF
listeners.tcp = none
listeners.ssl.default = 127.0.0.1:$port
ssl_options.cacertfile = $dir/ca.pem
ssl_options.certfile = $dir/server.pem
ssl_options.keyfile = $dir/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
loopback_users.guest = true
CONF
echo "[]." > enabled_plugins
chown -R rabbitmq:rabbitmq "$dir" 2>/dev/null || true
chmod 755 "$dir"
chmod 644 ca.pem other-ca.pem server.pem server.key client.pem client.key \
  other-client.pem other-client.key

rabbitmq-server -detached >/dev/null 2>&1 || true
for _ in $(seq 120); do
  if port_open "$port"; then
    echo "rabbitmq-tls: $node serves TLS on 127.0.0.1:$port (CA: $dir/ca.pem; stop: $0 --stop)"
    exit 0
  fi
  sleep 0.5
done
echo "rabbitmq-tls: no TLS listener on 127.0.0.1:$port after 60 s; logs in $dir/log" >&2
exit 1

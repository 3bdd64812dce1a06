#!/usr/bin/env bash
# Runs (execs) a single-member etcd for a test kube-apiserver, on 127.0.0.1 only, its data under
# DIR/etcd. Shared by tests/support/kube_apiserver.h and scripts/demo.
#   etcd.sh DIR CLIENT_PORT PEER_PORT [ETCD_BIN]
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: etcd.sh DIR CLIENT_PORT PEER_PORT [ETCD_BIN]" >&2
  exit 2
fi
dir=$1 client=http://127.0.0.1:$2 peer=http://127.0.0.1:$3 etcd=${4:-/usr/bin/etcd}

# etcd 3.4 refuses to start on arm64 unless told the architecture is accepted.
if [ "$(uname -m)" = aarch64 ]; then export ETCD_UNSUPPORTED_ARCH=arm64; fi

# --experimental-watch-progress-notify-interval: etcd 3.4.23 predates the fixed RequestProgress
# (3.4.31), so kube-apiserver does not ask etcd for progress. Without periodic notifications its
# watch cache lags behind etcd's revision for a quiet resource, and a watch from a list's
# resourceVersion waits and then fails with 504 "Too large resource version". 500 ms keeps the
# wait short.
exec "$etcd" \
  --name=default \
  --data-dir="$dir/etcd" \
  --listen-client-urls="$client" \
  --advertise-client-urls="$client" \
  --listen-peer-urls="$peer" \
  --initial-advertise-peer-urls="$peer" \
  --initial-cluster="default=$peer" \
  --logger=zap \
  --log-outputs=stderr \
  --experimental-watch-progress-notify-interval=500ms

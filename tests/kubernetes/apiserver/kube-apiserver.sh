#!/usr/bin/env bash
# Runs (execs) a test kube-apiserver on 127.0.0.1:PORT with the files prepare.sh wrote into DIR,
# storing in the etcd on 127.0.0.1:ETCD_PORT. Shared by tests/support/kube_apiserver.h and
# scripts/demo. Nothing in it reaches beyond the machine: no cloud provider, webhooks or OIDC.
#   kube-apiserver.sh DIR PORT ETCD_PORT KUBE_APISERVER_BIN
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: kube-apiserver.sh DIR PORT ETCD_PORT KUBE_APISERVER_BIN" >&2
  exit 2
fi
dir=$1 port=$2 etcd_port=$3 bin=$4

# --cert-dir: unused with the files given, but keeps the default (/var/run/kubernetes) out of it.
# --authorization-mode Node,RBAC and NodeRestriction: what a kubelet's (system:node:<name>)
#   credential may do, as in a kubeadm or Talos cluster.
# --endpoint-reconciler-type none: the lease reconciler would publish 127.0.0.1 as the `kubernetes`
#   Service's endpoint, which validation rejects (loopback), logging an error every 10 s.
# --shutdown-watch-termination-grace-period 2s: on SIGTERM, end open watches and wait at most this
#   long for them; by default graceful shutdown waits for every watch to end by itself (up to
#   its timeout, minutes), so a restart with clients watching would hang.
exec "$bin" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$port" \
  --cert-dir="$dir/apiserver-certs" \
  --tls-cert-file="$dir/apiserver.crt" \
  --tls-private-key-file="$dir/apiserver.key" \
  --client-ca-file="$dir/ca.crt" \
  --token-auth-file="$dir/tokens.csv" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$dir/sa.pub" \
  --service-account-signing-key-file="$dir/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --endpoint-reconciler-type=none \
  --shutdown-watch-termination-grace-period=2s \
  --profiling=false

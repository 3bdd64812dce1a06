#!/usr/bin/env bash
# Writes everything a test kube-apiserver on 127.0.0.1:PORT needs, and the kubeconfigs its
# clients use, into DIR (created if missing; existing files are replaced):
#   ca.crt ca.key                    the cluster CA (signs the serving and client certificates)
#   apiserver.crt apiserver.key      serving certificate: IP:127.0.0.1, DNS:localhost
#   sa.key sa.pub                    service-account token signing key pair
#   tokens.csv                       --token-auth-file: admin (system:masters), system:node:node-1
#                                    .. node-9 (system:nodes), nobody (no groups, no RBAC rights)
#   admin.token                      the admin's bearer token alone, for curl
#   admin-client.crt admin-client.key  client certificate CN=admin, O=system:masters
#   admin.kubeconfig cert.kubeconfig node-1.kubeconfig .. node-9.kubeconfig nobody.kubeconfig
# Usage: prepare.sh DIR PORT
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: prepare.sh DIR PORT" >&2
  exit 2
fi
dir=$1 port=$2
server=https://127.0.0.1:$port

# Keys, tokens and kubeconfigs are secrets: everything is created 0600 and only the certificates
# are opened up afterwards.
umask 077
mkdir -p "$dir"
cd "$dir"

# P-256 keys: instant to generate (RSA would add about a second per test binary), and accepted by
# kube-apiserver for serving, client and service-account keys alike.
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# A minimal config so the distribution's openssl.cnf (extensions, prompts) plays no part.
cat >openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = @server_names
authorityKeyIdentifier = keyid
# 127.0.0.1 and localhost for the tests; the in-cluster names and first service IP too, as
# kubeadm issues them.
[server_names]
IP.1 = 127.0.0.1
DNS.1 = localhost
IP.2 = 10.96.0.1
DNS.2 = kubernetes
DNS.3 = kubernetes.default
DNS.4 = kubernetes.default.svc
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF

new_key ca.key
openssl req -config openssl.cnf -x509 -new -key ca.key -subj /CN=tds-test-ca -days 3650 \
  -extensions ca -out ca.crt

# Signs a certificate for key $1 with subject $2 and extension section $3 into $4. openssl x509
# reports success on stderr too, so its output is shown only when it fails.
sign() {
  local out
  openssl req -config openssl.cnf -new -key "$1" -subj "$2" -out "$4.csr"
  if ! out=$(openssl x509 -req -in "$4.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile openssl.cnf -extensions "$3" -out "$4" 2>&1); then
    echo "prepare.sh: signing $4 failed: $out" >&2
    return 1
  fi
  rm -f "$4.csr"
}

new_key apiserver.key
sign apiserver.key /CN=kube-apiserver server apiserver.crt
new_key admin-client.key
sign admin-client.key /O=system:masters/CN=admin client admin-client.crt
new_key sa.key
openssl pkey -in sa.key -pubout -out sa.pub
chmod 0644 ca.crt apiserver.crt admin-client.crt sa.pub
rm -f ca.srl openssl.cnf

token() { openssl rand -hex 16; }

# token,user,uid,"group1,group2"; every token user is also in system:authenticated.
admin_token=$(token)
printf '%s\n' "$admin_token" >admin.token
{
  echo "$admin_token,admin,uid-admin,\"system:masters\""
  for n in 1 2 3 4 5 6 7 8 9; do
    echo "$(token),system:node:node-$n,uid-node-$n,\"system:nodes\""
  done
  echo "$(token),nobody,uid-nobody"
} >tokens.csv

ca_data=$(base64 -w0 <ca.crt)

# kubeconfig NAME USER then the user's fields (indented YAML lines) on stdin.
kubeconfig() {
  local name=$1 user=$2
  {
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tds-test
  cluster:
    server: $server
    certificate-authority-data: $ca_data
contexts:
- name: $user@tds-test
  context:
    cluster: tds-test
    user: $user
current-context: $user@tds-test
preferences: {}
users:
- name: $user
  user:
EOF
    cat
  } >"$name.kubeconfig"
}

token_of() { grep -F ",$1,uid-" tokens.csv | cut -d, -f1; }

echo "    token: $admin_token" | kubeconfig admin admin
{
  echo "    client-certificate-data: $(base64 -w0 <admin-client.crt)"
  echo "    client-key-data: $(base64 -w0 <admin-client.key)"
} | kubeconfig cert admin
for n in 1 2 3 4 5 6 7 8 9; do
  echo "    token: $(token_of "system:node:node-$n")" | kubeconfig "node-$n" "system:node:node-$n"
done
echo "    token: $(token_of nobody)" | kubeconfig nobody nobody

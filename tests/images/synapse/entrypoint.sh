#!/bin/bash
# The entrypoint of mediaconf's Complement-contract image of Synapse (tests/images/synapse/).
#
# The contract (matrix-org/complement README, "Image requirements", "Complement PKI"): the
# server name comes from SERVER_NAME; a CA is mounted at /complement/ca/ca.crt and ca.key, the
# server signs its own certificate with it and trusts it; the client API is plain HTTP on 8008,
# the federation API HTTPS on 8448; `complement` is the registration shared secret.
set -euo pipefail

: "${SERVER_NAME:?SERVER_NAME must name the server (host or host:port)}"
ca=/complement/ca
[[ -r $ca/ca.crt && -r $ca/ca.key ]] || {
  echo "entrypoint: mount a CA at $ca (ca.crt and ca.key)" >&2
  exit 1
}
host=${SERVER_NAME%:*}
[[ $SERVER_NAME == \[* ]] && host=${SERVER_NAME%]*} && host=${host#[}
conf=/conf
data=/data
mkdir -p "$conf" "$data/media_store"

# The server's certificate, signed by the mounted CA, for its own host name.
if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then san="IP:$host"; else san="DNS:$host"; fi
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$host" \
  -keyout "$conf/tls.key" -out "$conf/tls.csr" 2>/dev/null
printf 'subjectAltName=%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$san" >"$conf/ext.cnf"
openssl x509 -req -in "$conf/tls.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial \
  -CAserial "$conf/ca.srl" -days 7 -extfile "$conf/ext.cnf" -out "$conf/tls.crt" 2>/dev/null
# Trust the CA: the system store (Synapse's outbound HTTPS, e.g. Location URLs) and Synapse's own
# federation CA list.
cp "$ca/ca.crt" /usr/local/share/ca-certificates/complement-ca.crt
update-ca-certificates >/dev/null 2>&1 || true

sed -e "s|@SERVER_NAME@|$SERVER_NAME|g" -e "s|@CONF@|$conf|g" -e "s|@DATA@|$data|g" \
  /homeserver.yaml.in >"$conf/homeserver.yaml"
/opt/synapse/bin/python -m synapse.app.homeserver -c "$conf/homeserver.yaml" \
  --generate-keys >/dev/null
exec /opt/synapse/bin/python -m synapse.app.homeserver -c "$conf/homeserver.yaml"

#!/usr/bin/env bash
# scripts/synapse.sh: run a throw-away Synapse homeserver on loopback for mediaconf.
#
# mediaconf's end-to-end tests and the CI "example" job run the suite against this server.
# It is also a quick way to get a reference server for local development.
#
# Usage: scripts/synapse.sh start|stop|status|env|install
#   start    create the venv if missing, wipe the data dir (fresh database every time), write
#            homeserver.yaml, generate the signing key and TLS cert, start Synapse in the
#            background and wait until /_matrix/client/versions answers 200. A no-op if it is
#            already running.
#   stop     stop the server started by `start` (TERM, then KILL after 10 s).
#   status   say whether it is running (exit 0 if it is, 3 if it is not).
#   env      print `export` lines for MEDIACONF_TARGET, MEDIACONF_SERVER_NAME and
#            MEDIACONF_REGISTRATION_SHARED_SECRET:  eval "$(scripts/synapse.sh env)"
#   install  only create/update the venv (CI uses it to install ahead of the tests).
#
# Environment:
#   MEDIACONF_SYNAPSE_DIR       state directory (default <repo>/target/synapse). It holds
#                               venv/ (kept), and data/, homeserver.yaml, homeserver.log,
#                               synapse.pid (recreated on every start).
#   MEDIACONF_SYNAPSE_PORT      client listener, plain HTTP on 127.0.0.1 (default 18008)
#   MEDIACONF_SYNAPSE_FED_PORT  federation listener, TLS on 127.0.0.1 (default 18448);
#                               the server name is 127.0.0.1:<this port>
#   MEDIACONF_SYNAPSE_VERSION   pin matrix-synapse to this version (default: latest)
#   MEDIACONF_SYNAPSE_VENV      the venv to use (default <state dir>/venv); lets several state
#                               directories share one install
#   MEDIACONF_SYNAPSE_PEER_CA   a CA certificate (mediaconf keygen --peer-ca-out FILE): Synapse then
#                               verifies federation certificates and trusts this CA, instead of
#                               running with federation_verify_certificates: false
#   MEDIACONF_PYTHON            interpreter used to create the venv (default python3)
#
# The config (scripts/synapse-homeserver.yaml.in) is deliberately insecure: open
# registration, no certificate checks, no SSRF blocklist, no rate limits. Loopback only.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${MEDIACONF_SYNAPSE_DIR:-$REPO/target/synapse}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
PORT=${MEDIACONF_SYNAPSE_PORT:-18008}
FED_PORT=${MEDIACONF_SYNAPSE_FED_PORT:-18448}
VERSION=${MEDIACONF_SYNAPSE_VERSION:-}
PYTHON=${MEDIACONF_PYTHON:-python3}
SHARED_SECRET=mediaconf-test-registration-shared-secret

TEMPLATE=$REPO/scripts/synapse-homeserver.yaml.in
VENV=${MEDIACONF_SYNAPSE_VENV:-$DIR/venv}
DATA=$DIR/data
CONFIG=$DIR/homeserver.yaml
LOG=$DIR/homeserver.log
PIDFILE=$DIR/synapse.pid
URL=http://127.0.0.1:$PORT
SERVER_NAME=127.0.0.1:$FED_PORT
START_TIMEOUT=60

msg() { echo "synapse.sh: $*" >&2; }
die() { msg "error: $*"; exit 1; }

# Serialise start/stop/install between concurrent callers (e.g. parallel tests).
# fd 9 is closed for Synapse itself so the lock is not held by the server.
lock() {
  mkdir -p "$DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.lock"
    flock -w 600 9 || die "timed out waiting for $DIR/.lock"
  fi
}

# Print the PID of our running Synapse and succeed, or fail (removing a stale pid file).
running_pid() {
  [[ -f $PIDFILE ]] || return 1
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q synapse; then
    echo "$pid"
    return 0
  fi
  rm -f "$PIDFILE"
  return 1
}

# Succeed if GET <url> answers 200 (no proxy).
http_ok() {
  local code
  if command -v curl >/dev/null 2>&1; then
    code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)
    [[ $code == 200 ]]
  else
    local py=python3
    [[ -x $VENV/bin/python ]] && py=$VENV/bin/python
    "$py" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.exit(0 if opener.open(sys.argv[1], timeout=2).status == 200 else 1)
PY
  fi
}

installed_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("matrix-synapse"))' 2>/dev/null
}

# Create the venv and install matrix-synapse[url-preview] if missing (or not the pinned version).
ensure_venv() {
  local have spec t0
  have=$(installed_version || true)
  if [[ -n $have && ( -z $VERSION || $have == "$VERSION" ) ]]; then
    return 0
  fi
  spec='matrix-synapse[url-preview]'
  [[ -n $VERSION ]] && spec="$spec==$VERSION"
  t0=$SECONDS
  if [[ ! -x $VENV/bin/python ]]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set MEDIACONF_PYTHON)"
    msg "creating venv $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"
  fi
  msg "installing $spec into $VENV (log: $DIR/pip.log)"
  if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
    "$VENV/bin/python" -m pip install "$spec"; } >"$DIR/pip.log" 2>&1; then
    tail -n 40 "$DIR/pip.log" >&2
    die "pip install $spec failed"
  fi
  msg "installed matrix-synapse $(installed_version) in $((SECONDS - t0)) s"
}

# Self-signed cert for the federation TLS listener (SAN IP:127.0.0.1, DNS:localhost).
gen_tls() {
  if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$DATA/tls.key" -out "$DATA/tls.crt" >/dev/null 2>&1 ||
      die "openssl could not create the TLS certificate"
  else
    "$VENV/bin/python" - "$DATA/tls.key" "$DATA/tls.crt" <<'PY' || die "could not create the TLS certificate"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(minutes=5))
    .not_valid_after(now + datetime.timedelta(days=365))
    .add_extension(x509.SubjectAlternativeName([
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    .sign(key, hashes.SHA256())
)
with open(sys.argv[1], "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))
with open(sys.argv[2], "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
PY
  fi
}

# Fresh data dir + homeserver.yaml + keys. Everything but the venv is recreated.
write_config() {
  rm -rf "$DATA" "$CONFIG" "$LOG" "$PIDFILE"
  mkdir -p "$DATA/media_store"
  sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@FED_PORT@|$FED_PORT|g" \
    -e "s|@SHARED_SECRET@|$SHARED_SECRET|g" "$TEMPLATE" >"$CONFIG"
  if [[ -n ${MEDIACONF_SYNAPSE_PEER_CA:-} ]]; then
    # Verify federation certificates, trusting mediaconf's CA instead of turning checks off.
    [[ -f $MEDIACONF_SYNAPSE_PEER_CA ]] || die "MEDIACONF_SYNAPSE_PEER_CA=$MEDIACONF_SYNAPSE_PEER_CA does not exist (create it with: mediaconf keygen --peer-ca-out FILE)"
    sed -i -e "s|^federation_verify_certificates: false|federation_verify_certificates: true\nfederation_custom_ca_list: [\"$MEDIACONF_SYNAPSE_PEER_CA\"]|" "$CONFIG"
  fi
  "$VENV/bin/python" -m synapse._scripts.generate_signing_key -o "$DATA/signing.key" ||
    die "could not generate the signing key"
  gen_tls
}

cmd_start() {
  local pid t0
  lock
  if pid=$(running_pid); then
    msg "already running (pid $pid)"
    echo "Synapse running at $URL (server name $SERVER_NAME)"
    return 0
  fi
  if http_ok "$URL/_matrix/client/versions"; then
    die "something not started by this script already answers on $URL; stop it first"
  fi
  ensure_venv
  write_config
  t0=$SECONDS
  msg "starting matrix-synapse $(installed_version) (log: $LOG)"
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # Proxies would route federation/preview requests away from loopback (and past the IP
  # blocklist), so Synapse runs without them.
  (cd "$DIR" && exec nohup "${launcher[@]}" env -u http_proxy -u https_proxy -u HTTP_PROXY \
    -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY \
    "$VENV/bin/python" -m synapse.app.homeserver -c "$CONFIG" \
    </dev/null >>"$LOG" 2>&1 9>&-) &
  pid=$!
  echo "$pid" >"$PIDFILE"
  while ((SECONDS - t0 < START_TIMEOUT)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      msg "Synapse exited during startup; last 40 lines of $LOG:"
      tail -n 40 "$LOG" >&2
      exit 1
    fi
    if http_ok "$URL/_matrix/client/versions"; then
      msg "up after $((SECONDS - t0)) s (pid $pid)"
      echo "Synapse running at $URL (server name $SERVER_NAME)"
      return 0
    fi
    sleep 0.5
  done
  msg "Synapse did not answer within $START_TIMEOUT s; last 40 lines of $LOG:"
  tail -n 40 "$LOG" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  exit 1
}

cmd_stop() {
  local pid i
  [[ -d $DIR ]] || { msg "not running"; return 0; }
  lock
  if ! pid=$(running_pid); then
    msg "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    msg "pid $pid still alive after 10 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$PIDFILE"
  msg "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    echo "running (pid $pid) at $URL (server name $SERVER_NAME)"
  else
    echo "not running"
    exit 3
  fi
}

cmd_env() {
  echo "export MEDIACONF_TARGET=$URL"
  echo "export MEDIACONF_SERVER_NAME=$SERVER_NAME"
  echo "export MEDIACONF_REGISTRATION_SHARED_SECRET=$SHARED_SECRET"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  install) lock; ensure_venv; msg "matrix-synapse $(installed_version) in $VENV" ;;
  *)
    echo "usage: $0 start|stop|status|env|install" >&2
    exit 2
    ;;
esac

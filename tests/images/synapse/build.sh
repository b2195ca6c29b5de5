#!/usr/bin/env bash
# tests/images/synapse/build.sh: builds a Complement-contract image of Synapse without any
# registry image: a Debian root filesystem (debootstrap --variant=minbase), matrix-synapse from
# PyPI in /opt/synapse, and entrypoint.sh; then `podman import` as
# localhost/mediaconf-synapse:VERSION (default version: 1.163.2).
#
#   tests/images/synapse/build.sh [VERSION]
#
# Needs root, podman, debootstrap (scripts/deps.sh --images installs them). Takes a few minutes
# (the Debian packages and the Python wheels are downloaded); the root filesystem is kept in
# target/images/ so a second build only reinstalls what changed. Prints the image name.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
here=tests/images/synapse
version=${1:-1.163.2}
image=localhost/mediaconf-synapse:$version
root=target/images/synapse-rootfs
mirror=${MEDIACONF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
source scripts/container-env.sh

if [[ ! -x $root/usr/bin/python3 ]]; then
  rm -rf "$root"
  mkdir -p "$(dirname "$root")"
  echo "build.sh: debootstrap bookworm into $root" >&2
  debootstrap --variant=minbase \
    --include=python3,python3-venv,openssl,ca-certificates,libjpeg62-turbo,zlib1g \
    bookworm "$root" "$mirror" >target/images/debootstrap.log 2>&1 || {
    tail -20 target/images/debootstrap.log >&2
    exit 1
  }
fi
if ! "$root/opt/synapse/bin/python" -c "import importlib.metadata as m; assert m.version('matrix-synapse') == '$version'" 2>/dev/null; then
  echo "build.sh: pip install matrix-synapse[url-preview]==$version" >&2
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # pip inside the root filesystem trusts what the build machine trusts (an egress proxy's CA,
  # say); the bundle is removed again, so the image trusts only its own store.
  cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$root/tmp/build-ca.crt"
  # A clean environment: the build machine's PIP_* and SSL_* variables name its own paths.
  pip=(chroot "$root" env -i PATH=/usr/bin:/bin HOME=/root
    /opt/synapse/bin/python -m pip install --quiet --disable-pip-version-check
    --cert /tmp/build-ca.crt)
  chroot "$root" env -i PATH=/usr/bin:/bin python3 -m venv /opt/synapse
  "${pip[@]}" "matrix-synapse[url-preview]==$version" >target/images/pip.log 2>&1 || {
    tail -20 target/images/pip.log >&2
    exit 1
  }
  rm -f "$root/tmp/build-ca.crt"
fi
install -m 0755 "$here/entrypoint.sh" "$root/entrypoint.sh"
install -m 0644 "$here/homeserver.yaml.in" "$root/homeserver.yaml.in"
echo "build.sh: podman import $image" >&2
tar -C "$root" --exclude=./proc --exclude=./sys --exclude=./dev -c . |
  podman "${PODMAN_FLAGS[@]}" import \
    --change 'ENTRYPOINT ["/entrypoint.sh"]' \
    --change 'EXPOSE 8008' --change 'EXPOSE 8448' \
    --change "LABEL org.opencontainers.image.version=$version" \
    - "$image" >/dev/null
echo "$image"

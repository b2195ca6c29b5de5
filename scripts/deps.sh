#!/usr/bin/env bash
# scripts/deps.sh: the system packages mediaconf's tests need, in one place.
#
#   scripts/deps.sh           install what is missing (as root, or through sudo), from Debian
#   scripts/deps.sh --check   install nothing: list what is missing and the one command that
#                             installs it all; exit 1 if anything is missing
#
# Called by scripts/test.sh (the README's test command) and .ci/run, so a fresh machine gets the
# same packages either way. Each package says which test needs it.
set -euo pipefail

need=()
why=()
want() { # want PACKAGE WHY: PACKAGE is missing
  need+=("$1")
  why+=("$1 ($2)")
}
command -v python3 >/dev/null 2>&1 || want python3 "the Synapse reference server"
command -v curl >/dev/null 2>&1 || want curl "scripts/synapse.sh"
command -v openssl >/dev/null 2>&1 || want openssl "scripts/synapse.sh"
[[ -s /etc/ssl/certs/ca-certificates.crt ]] || want ca-certificates "pip over HTTPS"
command -v c++ >/dev/null 2>&1 || want g++ "libFuzzer, scripts/fuzz.sh"
command -v chromium >/dev/null 2>&1 || want chromium "tests/html_report.rs opens the HTML report"
command -v xmllint >/dev/null 2>&1 || want libxml2-utils "tests/junit_schema.rs validates the JUnit XML"
command -v podman >/dev/null 2>&1 || want podman "tests/image.rs runs run --image"
command -v runc >/dev/null 2>&1 || want runc "Podman's runtime here (crun refuses hybrid cgroups)"
command -v slirp4netns >/dev/null 2>&1 || want slirp4netns "run --image publishes the container's ports on free loopback ports"
command -v debootstrap >/dev/null 2>&1 || want debootstrap "tests/images/synapse/build.sh"
if command -v python3 >/dev/null 2>&1; then
  probe=$(mktemp -d)
  python3 -m venv "$probe/v" >/dev/null 2>&1 || want python3-venv "the Synapse venv"
  rm -rf "$probe"
else
  want python3-venv "the Synapse venv"
fi

if ((${#need[@]} == 0)); then
  echo "deps: nothing to install (python3 with venv, curl, openssl, ca-certificates, g++, chromium, xmllint, podman, runc, slirp4netns, debootstrap present)"
  exit 0
fi
install_cmd="apt-get update && apt-get install -y --no-install-recommends ${need[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
  else
    SUDO=(none)
  fi
fi
if [[ ${1:-} == --check || ${SUDO[0]:-} == none ]]; then
  echo "deps: missing: ${why[*]}" >&2
  echo "deps: install them with (as root):  $install_cmd" >&2
  exit 1
fi
echo "deps: installing ${why[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${need[@]}"

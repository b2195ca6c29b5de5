#!/usr/bin/env bash
# scripts/test.sh: mediaconf's test command (the one the README names; CI runs it via .ci/run).
#
# Runs, in order, and stops at the first failure:
#   0. scripts/deps.sh: installs the system packages the tests need (xmllint, Chromium, …) when
#      run as root or with sudo; otherwise lists them with the one command that installs them
#   1. cargo fmt --all -- --check (then clippy, then the image tests/image.rs needs, built once
#      by tests/images/synapse/build.sh when missing)
#   2. cargo clippy --all-targets -- -D warnings
#   3. cargo test --all-targets   with MEDIACONF_E2E=1
# The end-to-end test starts its own loopback Synapse through scripts/synapse.sh (the first run
# installs it into target/synapse/venv, which takes a minute or so). If this script's test run
# left a Synapse running that was not running before, it is stopped at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==== %s ====\n' "$*"; }

synapse_was_running=false
scripts/synapse.sh status >/dev/null 2>&1 && synapse_was_running=true
cleanup() {
  if ! $synapse_was_running && scripts/synapse.sh status >/dev/null 2>&1; then
    scripts/synapse.sh stop || true
  fi
}
trap cleanup EXIT

section "system packages (scripts/deps.sh)"
scripts/deps.sh

section "cargo fmt --all -- --check"
cargo fmt --all -- --check

section "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

section "the Complement-contract Synapse image (tests/images/synapse/build.sh, once)"
source scripts/container-env.sh
if podman "${PODMAN_FLAGS[@]}" image exists localhost/mediaconf-synapse:1.163.2; then
  echo "present"
else
  tests/images/synapse/build.sh 1.163.2
fi

section "cargo test --all-targets (MEDIACONF_E2E=1)"
MEDIACONF_E2E=1 cargo test --all-targets

section "all checks passed"

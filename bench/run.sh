#!/usr/bin/env bash
# bench/run.sh: mediaconf's speed benchmark. Builds mediaconf and the instant target, installs
# what it needs (the Synapse venv through scripts/synapse.sh, Hurl), runs bench/bench.py, which
# starts a loopback Synapse of its own (target/synapse-bench, ports 29008/29448) and the instant
# target, prints the table of figures with the machine they ran on, and stops what it started.
#
# Usage: bench/run.sh [--short]
#   --short   CI mode: a debug build, fewer requests, no 60 s full run. Nothing is asserted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

short=()
profile=release
if [[ ${1:-} == --short ]]; then
  short=(--short)
  profile=debug
fi

if [[ $profile == release ]]; then
  cargo build --release --bin mediaconf --example instant_target --example rootcause_bench --example atomic_bench
else
  cargo build --bin mediaconf --example instant_target --example rootcause_bench --example atomic_bench
fi
scripts/synapse.sh install

# Hurl, for the side-by-side rate: from Debian when it has it, else from crates.io into
# target/hurl (about 4 minutes on 2 cores, once). 8.0.1 is the newest release that builds with
# rustc 1.95; its libxml crate needs libclang for bindgen.
hurl=$(command -v hurl || true)
[[ -z $hurl && -x target/hurl/bin/hurl ]] && hurl=$PWD/target/hurl/bin/hurl
if [[ -z $hurl ]]; then
  SUDO=()
  [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update >/dev/null
  if [[ -n $(apt-cache policy hurl 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)') ]]; then
    "${SUDO[@]}" apt-get install -y --no-install-recommends hurl >/dev/null
    hurl=$(command -v hurl)
  else
    "${SUDO[@]}" apt-get install -y --no-install-recommends pkg-config libcurl4-openssl-dev libxml2-dev libssl-dev libclang-dev >/dev/null
    echo "bench/run.sh: building Hurl from crates.io into target/hurl (a few minutes, once)" >&2
    cargo install hurl --version 8.0.1 --locked --root target/hurl >/dev/null 2>target/hurl-install.log || {
      tail -20 target/hurl-install.log >&2
      exit 1
    }
    hurl=$PWD/target/hurl/bin/hurl
  fi
fi

python3 bench/bench.py --mediaconf "target/$profile/mediaconf" \
  --instant-target "target/$profile/examples/instant_target" --hurl "$hurl" "${short[@]}"

# Root causes: problems listed against the causes injected (fake targets with several faults)
# or read by hand (recorded real runs in bench/rootcause/), and cases filed under the wrong one.
echo
echo "Root causes (examples/rootcause_bench.rs):"
MEDIACONF_BIN="target/$profile/mediaconf" "target/$profile/examples/rootcause_bench" 2>/dev/null

# Atomicity: how often C-26 catches a server that writes media in place, and that it never
# fails against a conforming one (20 runs each; the race is likely, not certain).
echo
echo "Atomic media (examples/atomic_bench.rs):"
MEDIACONF_BIN="target/$profile/mediaconf" "target/$profile/examples/atomic_bench" 20 2>/dev/null

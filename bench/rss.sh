#!/usr/bin/env bash
# bench/rss.sh: mediaconf's memory benchmark. Builds mediaconf and the two local targets in
# release mode, then bench/rss.py runs whole runs (all default profiles) against a target that
# answers 1 GiB to every media request and against the instant target, and prints the peak RSS
# of each run with the machine it ran on. Stops what it started; asserts nothing.
#
# Usage: bench/rss.sh [JOBS...]     (default: 1 4 8)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --bin mediaconf --example flood_target --example instant_target
exec python3 bench/rss.py "$@"

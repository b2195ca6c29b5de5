#!/usr/bin/env bash
# scripts/demo.sh: the main job on a fresh machine. Installs and starts a loopback Synapse
# (scripts/synapse.sh), builds mediaconf, runs every suite against it with Synapse's baseline,
# prints the report, writes reports/report.xml and reports/report.json, and stops Synapse.
# Exit code: mediaconf's (0 = nothing failed that is not in baseline/synapse.toml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started_here=false
if ! scripts/synapse.sh status >/dev/null 2>&1; then
  scripts/synapse.sh start
  started_here=true
fi
cleanup() { if $started_here; then scripts/synapse.sh stop || true; fi; }
trap cleanup EXIT
eval "$(scripts/synapse.sh env)"

cargo build --quiet
mkdir -p reports
set +e
target/debug/mediaconf run \
  --target "$MEDIACONF_TARGET" \
  --registration-shared-secret "$MEDIACONF_REGISTRATION_SHARED_SECRET" \
  --insecure \
  --baseline baseline/synapse.toml \
  --junit reports/report.xml \
  --json reports/report.json \
  "$@"
code=$?
set -e
echo "reports: reports/report.xml reports/report.json (mediaconf exit code $code)"
exit $code

#!/usr/bin/env bash
# Runs frp 0.31.2's own CI suite (../shared/frp/v0.31.2/ci) with p2prc in place of frps, through
# frps.sh. Expects every test but TestTLSOverKCP (KCP is out of scope) to pass; prints the suite's log
# only on failure, and always its last line, "frp suite: N passed, M failed".
#   test/frp-suite/run.sh [extra go test flags, e.g. -test.run 'TestHttp$']
# The suite uses fixed ports, so runs are serialised with a lock shared by everyone on this machine.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir="${P2PRC_FRP_BIN_DIR:-$repo/../shared/frp/v0.31.2/linux-amd64}"
suite="$bin_dir/../ci/run-suite.sh"
if [ ! -x "$suite" ] || [ ! -x "$bin_dir/frpc" ]; then
  echo "frp suite: skipped (no frp 0.31.2 CI suite at $suite; set P2PRC_FRP_BIN_DIR)"
  exit 0
fi
[ -f "$repo/dist/cli/main.js" ] || { echo "frp suite: build first (npm run build)" >&2; exit 1; }
state=$(mktemp -d); log="$state/suite.log"
trap 'rm -rf "$state"' EXIT
export FRPS_WRAPPER_REPO="$repo" FRPS_WRAPPER_BIND=127.0.0.1 FRPS_WRAPPER_CONFIG_DIR="$state/p2prc"
lock=(); command -v flock >/dev/null 2>&1 && lock=(flock /tmp/frp-suite.lock)
"${lock[@]}" "$suite" "$repo/test/frp-suite/frps.sh" "$@" > "$log" 2>&1
failed=$(grep '^--- FAIL' "$log" | awk '{print $3}' | grep -vx 'TestTLSOverKCP' || true)
if [ -n "$failed" ] || grep -q '^panic:' "$log" || ! grep -q '^frp suite: ' "$log"; then
  cat "$log"
  echo "frp suite: unexpected failures: ${failed:-see the log above}"
  exit 1
fi
grep '^--- \(PASS\|FAIL\)' "$log" | sed 's/ (.*//'
tail -n 1 "$log"

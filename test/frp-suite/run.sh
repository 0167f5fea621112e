#!/usr/bin/env bash
# Runs frp 0.31.2's own CI suite ($P2PRC_FRP_BIN_DIR/../ci, next to the frp binaries) with p2prc in
# place of frps, through frps.sh. Expects every test but TestTLSOverKCP (KCP is out of scope) to pass; prints the suite's log
# only on failure, and always its last line, "frp suite: N passed, M failed".
#   test/frp-suite/run.sh [extra go test flags, e.g. -test.run 'TestHttp$']
# The suite uses fixed ports, so runs are serialised with a lock shared by everyone on this machine.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${P2PRC_FRP_BIN_DIR:-}" ]; then
  echo "frp suite: skipped (P2PRC_FRP_BIN_DIR is not set; point it at frp 0.31.2's frps and frpc)"
  exit 0
fi
bin_dir=$P2PRC_FRP_BIN_DIR
suite="$bin_dir/../ci/run-suite.sh"
if [ ! -x "$suite" ] || [ ! -x "$bin_dir/frpc" ]; then
  echo "frp suite: skipped (no frp 0.31.2 CI suite at $suite; set P2PRC_FRP_BIN_DIR)"
  exit 0
fi
[ -f "$repo/dist/main.js" ] || { echo "frp suite: build first (npm run build)" >&2; exit 1; }
state=$(mktemp -d); log="$state/suite.log"
trap 'rm -rf "$state"' EXIT
export FRPS_WRAPPER_REPO="$repo" FRPS_WRAPPER_BIND=127.0.0.1 FRPS_WRAPPER_CONFIG_DIR="$state/p2prc"
lock=(); command -v flock >/dev/null 2>&1 && lock=(flock /tmp/frp-suite.lock)
"${lock[@]}" "$suite" "$repo/test/frp-suite/frps.sh" "$@" > "$log" 2>&1
failed=$(grep '^--- FAIL' "$log" | awk '{print $3}' | grep -vx 'TestTLSOverKCP' || true)
rerun=""
if [ -n "$failed" ] && ! grep -q '^panic:' "$log"; then
  # Several of frp's own tests send traffic a fixed 700 ms after starting the server: on a loaded
  # machine one may miss it. Each failed test gets exactly one more run, alone, and is reported as such.
  rerun=$failed
  pattern="^($(echo $failed | tr ' ' '|'))\$"
  "${lock[@]}" "$suite" "$repo/test/frp-suite/frps.sh" -test.run "$pattern" > "$state/rerun.log" 2>&1
  cat "$state/rerun.log" >> "$state/all.log"
  failed=""
  for t in $rerun; do grep -q "^--- PASS: $t " "$state/rerun.log" || failed="$failed $t"; done
  grep -q '^panic:' "$state/rerun.log" && failed="${failed:-panic}"
fi
if [ -n "$failed" ] || grep -q '^panic:' "$log" || ! grep -q '^frp suite: ' "$log"; then
  cat "$log" "$state/all.log" 2>/dev/null
  echo "frp suite: unexpected failures: ${failed:-see the log above}"
  exit 1
fi
grep '^--- \(PASS\|FAIL\)' "$log" | sed 's/ (.*//'
total_pass=$(( $(grep -c '^--- PASS' "$log") + $(echo $rerun | wc -w) ))
total_fail=$(grep -c '^--- FAIL' "$log"); total_fail=$(( total_fail - $(echo $rerun | wc -w) ))
[ -n "$rerun" ] && echo "passed on their second run:$(echo " $rerun" | tr '\n' ' ')"
echo "frp suite: $total_pass passed, $total_fail failed"

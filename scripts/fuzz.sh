#!/usr/bin/env bash
# Bounded fuzzing of the signaling decoder and the room reducer (called by
# scripts/test.sh). A failing input is written to the package's
# testdata/fuzz/<Fuzz> directory: commit it and it runs as a regression case
# in every `go test`. Go's engine sometimes ends a time-bounded run with
# "context deadline exceeded" while a worker is mid-input; that is its time
# limit, not a finding, and is reported as such.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzz() {
  local name=$1 pkg=$2 out rc
  out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "${FUZZTIME:-10s}" "$pkg" 2>&1); rc=$?
  echo "$out" | grep -v '^fuzz: elapsed' | tail -4
  if [ $rc -eq 0 ]; then return 0; fi
  if grep -q 'Failing input written' <<<"$out"; then echo "fuzz: $name found a failing input (see above)"; return 1; fi
  if grep -q 'context deadline exceeded' <<<"$out" && ! grep -qE 'panic:|_test\.go:[0-9]+:' <<<"$out"; then
    echo "fuzz: $name stopped at its time limit mid-input (Go fuzzing engine); no failing input found"
    return 0
  fi
  echo "$out" | tail -30
  return 1
}
fuzz FuzzDecode ./signaling/protocol
fuzz FuzzApply ./signaling/room

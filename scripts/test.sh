#!/usr/bin/env bash
# The project's test command (called by `make test`). Runs gofmt/vet checks and
# every Go test; packages whose tests need a display get a private Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
go vet ./...
# The race detector on the server and the concurrent media packages (SFU,
# participant, adaptation, background pipeline, segmentation pool).
go test -race -count=1 ./signaling/... ./media/sfu/... ./internal/host/... ./media/participant/... ./media/adapt/... ./media/vbg/... ./segmentation/
# Bounded fuzzing of the decoder and the room reducer; crashers land in the package's testdata/fuzz (commit them: they then run as regression cases).
bash scripts/fuzz.sh
mkdir -p artifacts
export PODIUM_ARTIFACTS="$PWD/artifacts"
# Packages run one at a time (-p 1): the real-media, namespace and
# real-window tests share two cores and must not starve each other (a TURN
# run starved by a parallel package once failed ICE). Test binaries are
# built in parallel first.
go test -count=1 -exec /bin/true ./... >/dev/null
# The whole log goes to artifacts/go-test.log; when a test fails, its
# failure lines are printed again at the very end (CI shows the end).
log="$PWD/artifacts/go-test.log"
run=(go test -p 1 -count=1 -timeout 25m ./...)
# A private display for Fyne screenshot tests.
if [ -z "${DISPLAY:-}" ]; then
  run=(xvfb-run -a -s "-screen 0 1280x800x24" "${run[@]}")
fi
set +e
"${run[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "==== failed (whole log: artifacts/go-test.log) ===="
  bash scripts/failures.sh "$log" | tail -n 25
fi
exit "$rc"

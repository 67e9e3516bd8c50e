#!/usr/bin/env bash
# `make run`: opens the Podium app hosting a meeting and joins it, then two
# headless guests join the same meeting with the real test video
# (vtest.avi + speech) and a photo (sample1.jpg, pan and zoom + tone), so
# the call screen shows moving video at once. With no DISPLAY it runs under
# Xvfb and saves a screenshot of the window to artifacts/run.png.
# RUN_DURATION=30s stops everything after that long (default: until the
# window closes or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8
if [ -z "${DISPLAY:-}" ]; then
  echo "run: no DISPLAY: running under Xvfb (screenshot in artifacts/run.png)"
  export PODIUM_RUN_XVFB=1
  exec xvfb-run -a -s "-screen 0 1280x800x24" bash "$0" "$@"
fi
mkdir -p build artifacts
invite=build/invite.txt
rm -f "$invite"
bin/podium --host --join --name "${PODIUM_NAME:-Host}" --invite-file "$invite" &
app=$!
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$invite" ] && break; sleep 0.1; done
[ -s "$invite" ] || { echo "run: the app did not start hosting"; exit 1; }
url=$(sed -n 's/^url=//p' "$invite"); room=$(sed -n 's/^room=//p' "$invite")
echo "run: hosting $room at $url; invite link: $(sed -n 's/^invite=//p' "$invite")"
dur=${RUN_DURATION:-0}
bin/podium --headless --loopback --url "$url" --room "$room" --name Alice --video testdata/opencv/vtest.avi --audio testdata/speech.wav --duration "$dur" >build/guest-alice.log 2>&1 &
bin/podium --headless --loopback --url "$url" --room "$room" --name Bob --video testdata/faceapi/sample1.jpg --audio tone --duration "$dur" >build/guest-bob.log 2>&1 &
if [ -n "${PODIUM_RUN_XVFB:-}" ]; then
  ( sleep 12; id=$(xdotool search --onlyvisible --name '^Podium$' | head -1) && import -window "$id" artifacts/run.png && echo "run: screenshot saved to artifacts/run.png" ) &
fi
if [ "$dur" != "0" ]; then
  ( sleep "${dur%s}"; kill $app 2>/dev/null ) &
fi
wait $app

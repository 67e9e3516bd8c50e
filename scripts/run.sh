#!/usr/bin/env bash
# `make run`: starts podiumd on loopback and two headless participants that
# publish the real test video, printing their stats. (The desktop app
# replaces this once it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
secret=$(head -c 24 /dev/urandom | base64)
export PODIUM_SECRET="$secret"
bin/podiumd serve --addr 127.0.0.1:7880 --loopback &
srv=$!
trap 'kill $srv $(jobs -p) 2>/dev/null || true' EXIT
for i in $(seq 50); do curl -sf http://127.0.0.1:7880/healthz >/dev/null && break; sleep 0.1; done
t1=$(bin/podiumd token --room demo --name Alice --role presenter)
t2=$(bin/podiumd token --room demo --name Bob --role attendee)
bin/podium --headless --loopback --token "$t1" --video testdata/opencv/vtest.avi --audio testdata/speech.wav --duration "${RUN_DURATION:-0}" &
bin/podium --headless --loopback --token "$t2" --video testdata/faceapi/sample1.jpg --audio tone --duration "${RUN_DURATION:-0}" &
wait -n

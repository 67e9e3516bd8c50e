#!/usr/bin/env bash
# Fetches real test input into testdata/ (not committed):
#   testdata/opencv/  vtest.avi, Megamind.avi, messi5.jpg, basketball1.png, basketball2.png (Debian opencv-doc)
#   testdata/faceapi/ sample1.jpg .. sample6.jpg (npm @vladmandic/face-api@1.7.15, MIT)
#   testdata/speech.wav  16-bit mono speech made with espeak-ng, resampled to 48 kHz with sox
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/testdata"
mkdir -p "$out/opencv" "$out/faceapi"
src=/usr/share/doc/opencv-doc/examples/data
for f in vtest.avi Megamind.avi messi5.jpg basketball1.png basketball2.png; do
  [ -s "$out/opencv/$f" ] && continue
  if [ -s "$src/$f" ]; then cp "$src/$f" "$out/opencv/$f";
  elif [ -s "$src/$f.gz" ]; then gunzip -c "$src/$f.gz" > "$out/opencv/$f";
  else echo "testdata: $f not found in $src (is opencv-doc installed? run make deps)" >&2; exit 1; fi
done
if [ ! -s "$out/faceapi/sample1.jpg" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null 2>&1)
  tar -xzf "$tmp"/vladmandic-face-api-1.7.15.tgz -C "$tmp" package/demo
  cp "$tmp"/package/demo/sample*.jpg "$out/faceapi/"
  rm -rf "$tmp"
fi
if [ ! -s "$out/speech.wav" ]; then
  espeak-ng -s 150 -w "$out/speech_raw.wav" "Welcome to Podium. This is a test of the audio path. One, two, three, four, five." 
  sox "$out/speech_raw.wav" -r 48000 -c 1 -b 16 "$out/speech.wav"
  rm -f "$out/speech_raw.wav"
fi

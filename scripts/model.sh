#!/usr/bin/env bash
# Builds Podium's person-segmentation models (called by `make model`):
#   1. npm pack @mediapipe/selfie_segmentation@$VERSION (Apache-2.0) into build/npm,
#   2. checks the tarball's SHA-256 against the value pinned below,
#   3. extracts the two .tflite models into build/tflite,
#   4. converts them with `go run ./cmd/podium-model convert` into
#      build/models/selfie_segmentation.onnx and
#      build/models/selfie_segmentation_landscape.onnx.
# Idempotent and silent when the models are already newer than their inputs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PKG=@mediapipe/selfie_segmentation
VERSION=0.1.1675465747
SHA256=7767b33eaa68990ee06c28bbb89f39a13a47ebb07ff0f1fd4947d9e817bb9bf9
TGZ=build/npm/mediapipe-selfie_segmentation-$VERSION.tgz
MODELS=(selfie_segmentation selfie_segmentation_landscape)

# Converter sources: a model is rebuilt when any of them is newer.
srcs=$(find cmd/podium-model segmentation/tflite segmentation/onnx segmentation/convert -name '*.go' ! -name '*_test.go')
up_to_date=1
for m in "${MODELS[@]}"; do
  out=build/models/$m.onnx
  if [ ! -s "$out" ] || [ -n "$(find $srcs -newer "$out" 2>/dev/null | head -1)" ]; then up_to_date=0; fi
done
[ $up_to_date -eq 1 ] && exit 0

mkdir -p build/npm build/tflite build/models
check() { echo "$SHA256  $TGZ" | sha256sum --check --status; }
if [ ! -s "$TGZ" ] || ! check; then
  rm -f "$TGZ"
  (cd build/npm && npm pack --silent "$PKG@$VERSION" >/dev/null)
  if ! check; then
    echo "model: $TGZ does not have the pinned SHA-256 $SHA256" >&2
    sha256sum "$TGZ" >&2 || true
    exit 1
  fi
fi
for m in "${MODELS[@]}"; do
  tar -xzf "$TGZ" -C build/tflite --strip-components=1 "package/$m.tflite"
  go run ./cmd/podium-model convert -in "build/tflite/$m.tflite" -out "build/models/$m.onnx"
done
echo "model: wrote build/models/{$(IFS=,; echo "${MODELS[*]}")}.onnx"

#!/usr/bin/env bash
# Installs every Debian package Podium's build and tests need. Idempotent and
# quiet when everything is already present.
set -euo pipefail
PKGS=(
  pkg-config build-essential
  libopencv-dev opencv-doc          # gocv v0.31 (OpenCV 4.6) and real test images/video
  libvpx-dev libopus-dev libopusfile-dev libasound2-dev   # VP8, Opus, audio I/O
  libgl1-mesa-dev libegl-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev  # Fyne + EGL
  xvfb x11-apps imagemagick xdotool # screenshots under a virtual display
  espeak-ng sox                     # real speech for audio tests
  nftables iptables iproute2        # network impairment in test namespaces
  nodejs npm                        # npm pack for model and sample photos
  chromium                          # browser interop tests
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian (e.g. /usr/local): accept a working npm.
if command -v npm >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done; missing=("${tmp[@]}")
fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

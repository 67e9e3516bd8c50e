#!/usr/bin/env bash
# Builds Podium's Linux packages (called by `make package`) into build/dist:
#   podium_VERSION_ARCH.deb, podiumd_VERSION_ARCH.deb   (nfpm, packaging/*.yaml)
#   podium_VERSION_linux_ARCH.tar.xz                    (fyne package -os linux)
# VERSION comes from FyneApp.toml (the one source), ARCH from dpkg. The fyne
# tools run on a copy of FyneApp.toml and the icon (fyne bumps Build in the
# file on every run) with the prebuilt binary, so nothing is rebuilt twice
# and the tree is left as it was. Idempotent: outputs newer than all their
# inputs are kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export VERSION=${VERSION:-$(sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)}
export ARCH=${ARCH:-$(dpkg --print-architecture)}
GOBIN=$(go env GOPATH)/bin
FYNE_TOOLS=fyne.io/tools/cmd/fyne@v1.7.4
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
dist=build/dist pkg=build/pkg
mkdir -p "$dist" "$pkg/bin"

# Tools, pinned (installed once).
[ -x "$GOBIN/nfpm" ] && "$GOBIN/nfpm" --version 2>/dev/null | grep -q 'v\?2\.45\.2' || go install "$NFPM"
[ -x "$GOBIN/fyne" ] && "$GOBIN/fyne" version 2>/dev/null | grep -q 'v1\.7\.4' || go install "$FYNE_TOOLS"

# Binaries: the same build flags as `make build` (shared Go cache), stripped.
# A binary is replaced only when it changed, so up-to-date packages stay.
mkdir -p "$pkg/new"
go build -ldflags "-X github.com/podiumhq/podium/internal/version.Version=$VERSION -s -w" \
  -o "$pkg/new/" ./cmd/podium ./cmd/podiumd
for b in podium podiumd; do
  cmp -s "$pkg/new/$b" "$pkg/bin/$b" || mv "$pkg/new/$b" "$pkg/bin/$b"
done
rm -rf "$pkg/new"

# newer OUT IN...: OUT exists and is newer than every IN.
newer() {
  local out=$1; shift
  [ -s "$out" ] || return 1
  for f in "$@"; do [ "$f" -nt "$out" ] && return 1; done
  return 0
}
build_deb() { # name
  local name=$1 out="$dist/${1}_${VERSION}_${ARCH}.deb"
  local ins=("packaging/$name.yaml" "$pkg/bin/$name" packaging/*.desktop packaging/*.service packaging/*.env packaging/scripts/* packaging/copyright packaging/*.example build/models/*.onnx assets/icon.png assets/backgrounds/*.jpg)
  if newer "$out" "${ins[@]}"; then echo "package: $out is up to date"; return; fi
  "$GOBIN/nfpm" package --config "packaging/$name.yaml" --packager deb --target "$out.tmp" >/dev/null
  mv "$out.tmp" "$out"
  echo "package: wrote $out ($(du -h "$out" | cut -f1))"
}
build_deb podium
build_deb podiumd

tarball="$dist/podium_${VERSION}_linux_${ARCH}.tar.xz"
if newer "$tarball" "$pkg/bin/podium" FyneApp.toml assets/icon.png; then
  echo "package: $tarball is up to date"
else
  work="$pkg/fyne"
  rm -rf "$work" && mkdir -p "$work"
  cp FyneApp.toml "$work/"
  cp assets/icon.png "$work/Icon.png"
  sed -i 's#^\( *Icon *= *\).*#\1"Icon.png"#' "$work/FyneApp.toml"
  cp "$pkg/bin/podium" "$work/podium"
  # fyne wants Go code in the source directory; the binary is prebuilt.
  printf 'module podiumpackage\n\ngo 1.21\n' >"$work/go.mod"
  printf 'package main\n\nfunc main() {}\n' >"$work/main.go"
  (cd "$work" && "$GOBIN/fyne" package -os linux --release --exe podium --name Podium --icon Icon.png --app-version "$VERSION" >/dev/null)
  # Add the models where segmentation.FindModel looks next to the binary
  # (../share/podium/models: /usr/local/share/podium/models once installed).
  xz -d "$work"/*.tar.xz
  mkdir -p "$work/stage/podium/usr/local/share/podium/models"
  cp build/models/*.onnx "$work/stage/podium/usr/local/share/podium/models/"
  tar -C "$work/stage" -rf "$(ls "$work"/*.tar)" podium/usr/local/share/podium
  xz -T0 -6 "$work"/*.tar
  mv "$work"/*.tar.xz "$tarball"
  echo "package: wrote $tarball ($(du -h "$tarball" | cut -f1))"
fi

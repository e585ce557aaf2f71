#!/usr/bin/env bash
# Release artifacts into OUTDIR (make release: dist/), for each Debian/Go
# architecture given (default amd64 arm64):
#   panoptes-<version>-linux-<arch>          static binary (CGO_ENABLED=0,
#                                            -trimpath, stamped by version.sh)
#   panoptes_<debian version>_<arch>.deb     the Debian package (build-deb.sh)
#   SHA256SUMS                               of all of them
# Reproducible: the same commit and Go toolchain give the same bytes (no
# build paths, no build time: the date is the commit's; dpkg-deb clamps
# file times to SOURCE_DATE_EPOCH, the commit's time).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR [ARCH...]" >&2
  exit 2
fi
out=$1
shift
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(scripts/version.sh)
ldflags="-s -w $(scripts/version.sh --ldflags)"
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
mkdir -p "$out"
files=()
for arch in "${archs[@]}"; do
  bin="$out/panoptes-$version-linux-$arch"
  CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags "$ldflags" -o "$bin" ./cmd/panoptes
  deb=$(scripts/build-deb.sh "$bin" "$arch" "$version" "$out")
  files+=("$(basename "$bin")" "$(basename "$deb")")
  echo "release: $bin" >&2
  echo "release: $deb" >&2
done
(cd "$out" && sha256sum "${files[@]}" >SHA256SUMS)
echo "release: $out/SHA256SUMS" >&2

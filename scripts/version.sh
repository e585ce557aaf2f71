#!/bin/sh
# The version stamped into builds, in one place (internal/version reads it).
#   scripts/version.sh            the version: $VERSION if set; else the
#                                 nearest v* tag as git describe gives it
#                                 (v1.2.3, v1.2.3-4-gabcdef0 after it); else a
#                                 Go pseudo-version of HEAD
#                                 (v0.0.0-<commit time UTC>-<12 hex>, what
#                                 `go install` records); "-dirty"/"+dirty"
#                                 with uncommitted changes; "dev" outside git
#   scripts/version.sh --ldflags  the -X flags for go build: version, commit
#                                 ($COMMIT, else HEAD) and date ($DATE, else
#                                 the commit's time, not the build's, so a
#                                 rebuild of a commit is identical)
set -eu
cd "$(dirname "$0")/.."
version() {
  if [ -n "${VERSION:-}" ]; then
    echo "$VERSION"
  elif ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo dev
  elif v=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
    echo "$v"
  else
    dirty=""
    git diff --quiet HEAD -- 2>/dev/null || dirty="+dirty"
    echo "v0.0.0-$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)-$(git rev-parse --short=12 HEAD)$dirty"
  fi
}
case "${1:-}" in
"") version ;;
--ldflags)
  pkg=github.com/panoptes-go/panoptes/internal/version
  commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
  date=${DATE:-$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)}
  echo "-X $pkg.Version=$(version) -X $pkg.Commit=$commit -X $pkg.Date=$date"
  ;;
*)
  echo "usage: $0 [--ldflags]" >&2
  exit 2
  ;;
esac

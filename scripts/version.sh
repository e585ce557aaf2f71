#!/bin/sh
# Prints the version to stamp into a build: the nearest v* tag as git
# describe gives it (v1.2.3, or v1.2.3-4-gabcdef0 after it), else a Go
# pseudo-version of HEAD (v0.0.0-<commit time UTC>-<12 hex>, what
# `go install` would record); "-dirty" or "+dirty" when the tree has
# uncommitted changes; "dev" outside a git checkout.
set -eu
cd "$(dirname "$0")/.."
if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
  echo dev
  exit 0
fi
if v=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
  echo "$v"
  exit 0
fi
ts=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)
rev=$(git rev-parse --short=12 HEAD)
dirty=""
git diff --quiet HEAD -- 2>/dev/null || dirty="+dirty"
echo "v0.0.0-$ts-$rev$dirty"

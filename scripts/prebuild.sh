#!/usr/bin/env bash
# Builds ahead what make test's steps after go test would build on the
# critical path: every fuzz target's instrumented test binary, into
# FUZZ_BINDIR (scripts/fuzz.sh uses the binaries it finds there), then the
# static build's packages, into the Go build cache (scripts/release.sh, run
# by test-deb, then mostly links). make test runs it at the lowest CPU
# priority beside go test, whose integration tests mostly wait on processes
# and timers, and stops it when go test ends: what is built by then is kept,
# the steps build the rest themselves. Its output: FUZZ_BINDIR/prebuild.log.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${FUZZ_BINDIR:?scripts/prebuild.sh needs FUZZ_BINDIR}"
GO=${GO:-go}
exec >"$FUZZ_BINDIR/prebuild.log" 2>&1
GO=$GO ./scripts/fuzz.sh --build
CGO_ENABLED=0 "$GO" build -trimpath -o /dev/null ./cmd/panoptes

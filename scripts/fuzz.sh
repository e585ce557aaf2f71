#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one at a time (Go fuzzes one
# target per package run), each for FUZZTIME, and prints a table: package,
# target, time, executions, new corpus entries, result. A failure leaves the
# crasher in the package's testdata/fuzz/<Target>/ (commit it with the fix:
# plain `go test` then replays it) and makes the script exit 1 after the
# other targets have run.
#
#   FUZZTIME          time per target (default 5s; make test, so CI, uses 5s too:
#                     ~25 targets stay within a few minutes, builds included)
#   FUZZ_MINIMIZE     -fuzzminimizetime (default 2s). Go also minimizes every
#                     input that finds new coverage; with its default (60s)
#                     a short run spends most of its time minimizing
#   FUZZ_PARALLEL     fuzzing workers per target (default: GOMAXPROCS)
#   FUZZ_TARGETS      a regexp of targets to run (default: all)
#   FUZZ_TABLE        also append the table, in Markdown, to this file
#   FUZZ_BINDIR       keep each package's instrumented test binary here; one
#                     found there is used as it is, so give a fresh directory
#                     per tree (default: a temporary directory)
#
# scripts/fuzz.sh [package dir...]   (default: every package with a target)
# scripts/fuzz.sh --build [package dir...]: only build the binaries into
# FUZZ_BINDIR (make test does it at low priority while the tests run).
set -uo pipefail
cd "$(dirname "$0")/.."
build_only=0
if [ "${1:-}" = --build ]; then
	build_only=1
	shift
	[ -n "${FUZZ_BINDIR:-}" ] || { echo "fuzz.sh --build needs FUZZ_BINDIR" >&2; exit 2; }
fi
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-5s}
FUZZ_MINIMIZE=${FUZZ_MINIMIZE:-2s}
FUZZ_TARGETS=${FUZZ_TARGETS:-.}
par=()
[ -n "${FUZZ_PARALLEL:-}" ] && par=(-test.parallel "$FUZZ_PARALLEL")

if [ $# -gt 0 ]; then
	dirs=("$@")
else
	mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' internal cmd 2>/dev/null |
		xargs -r -n1 dirname | sort -u)
fi

# Go 1.26's fuzz coordinator can fail a target that found nothing with a
# bare "context deadline exceeded" as -fuzztime ends, on a loaded machine
# (go.dev/issue/75804, fixed in Go 1.27). Such a run printed nothing else
# and wrote no input; anything more (a panic, a failing input, the target's
# own error, a hang) is a failure.
deadline_race() {
	grep -qxE '    context deadline exceeded' "$1" &&
		! grep -vE '^fuzz: elapsed: |^warning: starting with empty corpus$' "$1" |
			grep -qvxE -e '--- FAIL: Fuzz[A-Za-z0-9_]* \([0-9.]+s\)' -e '    context deadline exceeded' -e 'FAIL' -e 'exit status 1'
}

rows=()
failed=0
start=$SECONDS
bin=${FUZZ_BINDIR:-}
if [ -z "$bin" ]; then
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
fi
mkdir -p "$bin" && bin=$(cd "$bin" && pwd) # absolute: targets run in their package's directory
cache=$("$GO" env GOCACHE)/fuzz
for dir in "${dirs[@]}"; do
	mapfile -t targets < <(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' "$dir"/*_test.go |
		sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' | grep -E -- "$FUZZ_TARGETS" | sort)
	[ ${#targets[@]} -eq 0 ] && continue
	# One instrumented test binary per package (go test would relink it for
	# every target), run in the package's directory so that testdata/fuzz
	# seeds are read and crashers written there, with go test's corpus cache.
	t0=$SECONDS
	pkgbin="$bin/${dir//\//_}.test"
	if [ -x "$pkgbin" ]; then
		echo "fuzz: $dir: built before"
	elif "$GO" test -c -fuzz . -o "$pkgbin.tmp" "./$dir" >"$bin/build.log" 2>&1 && mv "$pkgbin.tmp" "$pkgbin"; then
		echo "fuzz: $dir: built in $((SECONDS - t0)) s"
	else
		cat "$bin/build.log" >&2
		rows+=("| $dir | (build) | $((SECONDS - t0)) s | 0 | 0 | FAIL: build |")
		failed=1
		continue
	fi
	[ $build_only -eq 1 ] && continue
	pkgcache="$cache/$("$GO" list "./$dir")"
	for t in "${targets[@]}"; do
		log="$bin/$t.log"
		t0=$SECONDS
		(cd "$dir" && "$pkgbin" -test.run '^$' -test.fuzz "^${t}\$" -test.fuzztime "$FUZZTIME" \
			-test.fuzzminimizetime "$FUZZ_MINIMIZE" -test.fuzzcachedir "$pkgcache" -test.timeout 15m "${par[@]}") >"$log" 2>&1
		rc=$?
		last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -1)
		execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
		found=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
		result=ok
		if [ $rc -ne 0 ] && deadline_race "$log"; then
			result="ok (Go's end-of-fuzztime race reported \"context deadline exceeded\": go.dev/issue/75804)"
		elif [ $rc -ne 0 ]; then
			failed=1
			result="FAIL: $(grep -m1 -E 'Failing input written to' "$log" | sed -E 's/.*written to //')"
			[ "$result" = "FAIL: " ] && result="FAIL (exit $rc)"
			echo "--- $dir $t failed:" >&2
			grep -vE '^fuzz: elapsed' "$log" | head -40 >&2
		fi
		rows+=("| $dir | $t | $((SECONDS - t0)) s | ${execs:-0} | ${found:-0} | $result |")
		echo "fuzz: $dir $t: $((SECONDS - t0)) s, ${execs:-0} execs, ${found:-0} new corpus entries, $result"
	done
done

[ $build_only -eq 1 ] && exit $failed
table=$(printf '%s\n' "| package | target | wall time | executions | new corpus entries | result |" \
	"| --- | --- | --- | --- | --- | --- |" "${rows[@]}")
echo
echo "$table"
echo "fuzz: ${#rows[@]} targets, ${FUZZTIME} each, $((SECONDS - start)) s in all"
if [ -n "${FUZZ_TABLE:-}" ]; then
	echo "$table" >>"$FUZZ_TABLE"
fi
exit $failed

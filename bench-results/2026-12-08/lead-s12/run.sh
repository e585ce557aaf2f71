#!/bin/bash
# Session 12 rows for issue 15. Usage: run.sh OUTDIR NAME BIN [bench args...]; env GOGC passes through.
set -u
out=$1; name=$2; bin=$3; shift 3
mkdir -p "$out"
rm -rf /tmp/panoptes-bench-* 2>/dev/null
echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg) GOGC=${GOGC:-}: $(basename $bin) $*" >> "$out/commands.txt"
"$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"
echo "$(date +%T) end $name load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/commands.txt"

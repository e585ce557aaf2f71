#!/bin/bash
# Quiet-machine rows for issue 15 (lead, session 11). Usage: quiet.sh OUTDIR BIN_A BIN_B
# A: fb1b4b3 (main at the start of session 11), B: main after the allocation cuts.
set -u
out=$1; A=$2; B=$3
mkdir -p "$out"
run() { # name bin args... (env GOGC passed through)
  local name=$1 bin=$2; shift 2
  rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg) GOGC=${GOGC:-}: $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"
  echo "$(date +%T) end $name load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/commands.txt"
}
E="--enrichment --interval 60s --duration 120s --warmup 65s"
run a-d10000 $A --devices 10000 $E
run b-d10000 $B --devices 10000 $E
GOGC=40 run b-d10000-gogc40 $B --devices 10000 $E
GOGC=50 run b-d10000-gogc50 $B --devices 10000 $E
run a-d10000-2 $A --devices 10000 $E
GOGC=40 run b-d10000-gogc40-2 $B --devices 10000 $E
run b-d10000-rates $B --devices 10000 $E --rates
run a-d1000 $A --devices 1000 $E
run b-d1000 $B --devices 1000 $E
echo "$(date +%T) done" >> "$out/commands.txt"

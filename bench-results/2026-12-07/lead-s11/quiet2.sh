#!/bin/bash
# Second part: the new default (GOGC 50) on the rows not yet run with it, and the light checks.
set -u
out=$1; A=$2; B=$3
run() { local name=$1 bin=$2; shift 2
  rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg) GOGC=${GOGC:-}: $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"
  echo "$(date +%T) end $name load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/commands.txt"; }
E="--enrichment --interval 60s --duration 120s --warmup 65s"
L="--devices 5000 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --max-concurrent 1024"
GOGC=50 run b-d10000-rates-gogc50 $B --devices 10000 $E --rates
GOGC=50 run b-d1000-gogc50 $B --devices 1000 $E
run a-d1000-2 $A --devices 1000 $E
GOGC=50 run b-d1000-gogc50-2 $B --devices 1000 $E
run a-light50k $A $L
GOGC=50 run b-light50k-gogc50 $B $L
echo "$(date +%T) done2" >> "$out/commands.txt"

#!/bin/bash
set -u
out=$1; A=$2; B=$3
run() { local name=$1 bin=$2; shift 2
  rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg) GOGC=${GOGC:-}: $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"
  echo "$(date +%T) end $name load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/commands.txt"; }
L="--devices 5000 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --max-concurrent 1024"
run b-light50k $B $L
run a-light50k-2 $A $L
GOGC=50 run b-light50k-gogc50-2 $B $L
run b-light50k-2 $B $L
GOGC=50 run b-light50k-gogc50-3 $B $L
run a-light50k-3 $A $L
echo "$(date +%T) done3" >> "$out/commands.txt"

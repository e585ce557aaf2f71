#!/bin/bash
# GOGC probe at 10,000 devices (RSS mostly; CPU noisy while a helper compiles)
set -u
out=/work/s11/probe; mkdir -p $out
run() { local name=$1 bin=$2; shift 2
  rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg) GOGC=${GOGC:-}: $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"
  echo "$(date +%T) end $name load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/commands.txt"; }
E="--enrichment --interval 60s --duration 120s --warmup 65s"
GOGC=40 run b1-d10000-gogc40 /work/s11/pan-B1 --devices 10000 $E
GOGC=30 run b1-d10000-gogc30 /work/s11/pan-B1 --devices 10000 $E
echo "$(date +%T) done" >> "$out/commands.txt"

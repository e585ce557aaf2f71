#!/bin/bash
set -u
out=$1; A=$2; B=$3
run() { local name=$1 bin=$2; shift 2
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg): $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"; }
L2="--devices 3000 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --max-concurrent 1024"
run b-light30k-2 $B $L2
run a-light30k-2 $A $L2
run b-light30k-3 $B $L2
run a-light30k-3 $A $L2
GOGC=100 run b-light30k-gogc100 $B $L2
echo "$(date +%T) done" >> "$out/commands.txt"

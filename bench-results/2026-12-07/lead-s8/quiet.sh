#!/bin/bash
# Quiet-machine rows for issue 15 (lead, session 8). Usage: quiet.sh OUTDIR BIN_A BIN_B
# A: aa9daf8 (+ the two bench-flag commits d73e611, 6fab922; GOGC 100 default), B: final main (GOGC 80 default).
set -u
out=$1; A=$2; B=$3
mkdir -p "$out"
run() { # name bin args...
  local name=$1 bin=$2; shift 2
  rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg): $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"
}
E="--enrichment --interval 60s --duration 120s --warmup 65s"
run a-d1000-enrich $A --devices 1000 $E
run b-d1000-enrich $B --devices 1000 $E
run b-d1000-enrich-rates $B --devices 1000 $E --rates
run a-d1000-enrich-rates $A --devices 1000 $E --rates
run a-d1000-enrich-msg1500 $A --devices 1000 $E --sim-max-msg-size 1500
run b-d1000-enrich-msg1500 $B --devices 1000 $E --sim-max-msg-size 1500
run b-d10000-enrich $B --devices 10000 $E
run a-d10000-enrich $A --devices 10000 $E
run a-d10000-enrich-rates $A --devices 10000 $E --rates
run b-d10000-enrich-rates $B --devices 10000 $E --rates --heap-profile $out/b-d10000-enrich-rates.heap.pb.gz
run b-light50k $B --devices 5000 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --max-concurrent 1024
echo "$(date +%T) done" >> "$out/commands.txt"

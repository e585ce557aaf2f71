#!/bin/bash
# A second 1,000-device pair, B first (the first pair ran A right after a CI run ended).
set -u
out=$1; A=$2; B=$3
run() { local name=$1 bin=$2; shift 2; rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg): $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"; }
E="--enrichment --interval 60s --duration 120s --warmup 65s"
run b-d1000-enrich-2 $B --devices 1000 $E
run a-d1000-enrich-2 $A --devices 1000 $E
run b-d1000-enrich-3 $B --devices 1000 $E
echo "$(date +%T) done" >> "$out/commands.txt"

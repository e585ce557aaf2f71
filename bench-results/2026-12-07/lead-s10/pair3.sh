#!/bin/bash
# Where does B's 1,000-device cost come from? C = a940497 (main at this session's start), alternated with B and A.
set -u
out=$1; A=$2; B=$3; C=$4
while pgrep -f heap.sh > /dev/null; do sleep 5; done
run() { local name=$1 bin=$2; shift 2; rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg): $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"; }
E="--enrichment --interval 60s --duration 120s --warmup 65s"
run c-d1000-enrich $C --devices 1000 $E
run b-d1000-enrich-4 $B --devices 1000 $E
run a-d1000-enrich-3 $A --devices 1000 $E
run c-d1000-enrich-2 $C --devices 1000 $E
echo "$(date +%T) done" >> "$out/commands.txt"

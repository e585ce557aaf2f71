#!/bin/bash
# B (fdb8bf6) and C (a940497) alternated at 1,000 devices, to settle the session's B/A question.
set -u
out=$1; B=$2; C=$3
run() { local name=$1 bin=$2; shift 2; rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg): $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"; }
E="--enrichment --interval 60s --duration 120s --warmup 65s"
for i in 5 6 7; do
  run c-d1000-enrich-$i $C --devices 1000 $E
  run b-d1000-enrich-$i $B --devices 1000 $E
done
echo "$(date +%T) done" >> "$out/commands.txt"

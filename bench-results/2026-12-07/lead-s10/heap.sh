#!/bin/bash
# After pair2.sh: main's 10,000-device row (rates off) with a heap profile, for the account of its live heap.
out=$1; B=$2
while pgrep -f pair2.sh > /dev/null; do sleep 5; done
rm -rf /tmp/panoptes-bench-* 2>/dev/null
echo "$(date +%T) b-d10000-enrich-heap load $(cut -d' ' -f1-3 /proc/loadavg): $(basename $B) --devices 10000 --enrichment --interval 60s --duration 120s --warmup 65s --heap-profile b-d10000-enrich.heap.pb.gz" >> "$out/commands.txt"
"$B" bench --devices 10000 --enrichment --interval 60s --duration 120s --warmup 65s --heap-profile "$out/b-d10000-enrich.heap.pb.gz" > "$out/b-d10000-enrich-heap.json" 2> "$out/b-d10000-enrich-heap.err"
echo "$(date +%T) done" >> "$out/commands.txt"

#!/bin/sh
# Cumulative: A = main 83b8178 with the three enrichmem commits reverted (internal/enrich and
# internal/checkstate as at efec465), B = main 83b8178. Alternated, one run at a time (the disk
# filled at 12:38 with four benches at once, ~1.2 GB of JetStream files each).
set -x
for r in 1 2; do
  for s in a b; do
    uptime; df -h / | tail -1
    /tmp/enrichmem-${s}4 bench --base-port 32000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab4-$s$r.heap.pb.gz > ab4-$s$r.json 2> ab4-$s$r.err
  done
done
uptime

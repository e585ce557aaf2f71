#!/bin/sh
# One key string a resource: A = main 83b8178, B = enrichmem 47fffe1 (resource.Freeze). Alternated, one run at a time.
set -x
for r in 1 2; do
  for s in a b; do
    uptime; df -h / | tail -1
    /tmp/enrichmem-${s}5 bench --base-port 32000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab5-$s$r.heap.pb.gz > ab5-$s$r.json 2> ab5-$s$r.err
  done
done
uptime

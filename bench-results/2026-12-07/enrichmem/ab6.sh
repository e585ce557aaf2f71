#!/bin/sh
# The Refresher resolves SNMP targets at each visit: A = main e4a91d2, B = main cde802e. Alternated, one run at a time.
set -x
for r in 1 2; do
  for s in a b; do
    uptime; df -h / | tail -1
    /tmp/enrichmem-${s}6 bench --base-port 32000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab6-$s$r.heap.pb.gz > ab6-$s$r.json 2> ab6-$s$r.err
  done
done
uptime

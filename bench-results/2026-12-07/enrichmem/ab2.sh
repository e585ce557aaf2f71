#!/bin/sh
# A = main 15a6ee3 (the KV watch, GOGC 80 default), B = enrichmem 2db29fb (interfaces by shape; landed as is); at once on different base ports, two rounds.
set -x
for r in 1 2; do
  uptime
  /tmp/enrichmem-a2 bench --base-port 32000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab2-a$r.heap.pb.gz > ab2-a$r.json 2> ab2-a$r.err &
  /tmp/enrichmem-b2 bench --base-port 36000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab2-b$r.heap.pb.gz > ab2-b$r.json 2> ab2-b$r.err &
  wait
  uptime
done

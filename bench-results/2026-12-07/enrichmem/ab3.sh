#!/bin/sh
# A = main 2db29fb (interfaces by shape), B = enrichmem c90a956 (checkstate's ring by column, Refresher key; landed as 83b8178); at once on different base ports, two rounds.
set -x
for r in 1 2; do
  uptime
  /tmp/enrichmem-a3 bench --base-port 32000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab3-a$r.heap.pb.gz > ab3-a$r.json 2> ab3-a$r.err &
  /tmp/enrichmem-b3 bench --base-port 36000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab3-b$r.heap.pb.gz > ab3-b$r.json 2> ab3-b$r.err &
  wait
  uptime
done

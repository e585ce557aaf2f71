#!/bin/sh
# A = main aa9daf8, B = enrichmem 1c872d9 (the KV watch; landed as 15a6ee3); run at once on different base ports, two rounds.
set -x
for r in 1 2; do
  uptime
  /tmp/enrichmem-a bench --base-port 32000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab1-a$r.heap.pb.gz > ab1-a$r.json 2> ab1-a$r.err &
  /tmp/enrichmem-b bench --base-port 36000 --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --heap-profile ab1-b$r.heap.pb.gz > ab1-b$r.json 2> ab1-b$r.err &
  wait
  uptime
done

#!/bin/sh
# A = main da7ce40 with internal/rate of 08d26cc (before the state by position), B2 = main 67cc7ae (rows shared, slots of 16 bytes).
cd "$(dirname "$0")"
run() { # bin tag flags
  echo "$(date -u +%H:%M:%S) $1 $2 load: $(cut -d' ' -f1-3 /proc/loadavg)" >> ab.log
  ./panoptes-$1 bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 38000 $3 > $1-$2.json 2> $1-$2.err
  echo "$(date -u +%H:%M:%S) done rc=$? load: $(cut -d' ' -f1-3 /proc/loadavg)" >> ab.log
}
run b2 rates3 "--rates --heap-profile b2-rates3.heap.pb.gz"
run a rates3 "--rates"
run a rates4 "--rates"
run b2 rates4 "--rates"

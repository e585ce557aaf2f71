#!/bin/sh
# A = main da7ce40 with internal/rate of 08d26cc; B3 = main 637a8e3 (values in chunks).
cd "$(dirname "$0")"
run() { # bin tag flags
  echo "$(date -u +%H:%M:%S) $1 $2 load: $(cut -d' ' -f1-3 /proc/loadavg)" >> ab.log
  ./panoptes-$1 bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 38000 $3 > $1-$2.json 2> $1-$2.err
  echo "$(date -u +%H:%M:%S) done rc=$? load: $(cut -d' ' -f1-3 /proc/loadavg)" >> ab.log
}
run a rates5 "--rates"
run b3 rates5 "--rates --heap-profile b3-rates5.heap.pb.gz"

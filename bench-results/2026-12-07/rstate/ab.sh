#!/bin/sh
# A = main da7ce40 with internal/rate of 08d26cc (before the state by position), B = main da7ce40.
cd "$(dirname "$0")"
run() { # bin tag flags
  echo "$(date -u +%H:%M:%S) $1 $2 load: $(cut -d' ' -f1-3 /proc/loadavg)" >> ab.log
  ./panoptes-$1 bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 38000 $3 > $1-$2.json 2> $1-$2.err
  echo "$(date -u +%H:%M:%S) done rc=$? load: $(cut -d' ' -f1-3 /proc/loadavg)" >> ab.log
}
run a rates1 "--rates --heap-profile a-rates1.heap.pb.gz"
run b rates1 "--rates --heap-profile b-rates1.heap.pb.gz"
run b rates2 "--rates"
run a rates2 "--rates"
run a norates1 ""
run b norates1 ""

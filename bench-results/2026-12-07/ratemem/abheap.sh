#!/bin/sh
# usage: abheap.sh TAG BIN1 BIN2 ... : each binary in turn (one at a time: a run's bus and sink take ~2.6 GB of disk),
# 2,000 devices, rates on, heap and CPU profiles; files TAG-<binary name>.*
T=$1; shift
for bin in "$@"; do
  v=$(basename $bin)
  echo "$v start $(uptime)" >> $T.log
  $bin bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --rates --base-port 38000 \
    --heap-profile $T-$v.heap.pb.gz --cpu-profile $T-$v.cpu.pb.gz > $T-$v.json 2> $T-$v.stderr
  echo "$v end $(uptime)" >> $T.log
done

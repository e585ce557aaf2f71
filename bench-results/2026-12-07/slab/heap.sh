#!/bin/sh
# usage: heap.sh OUTDIR BIN_A BIN_B: one more pair, rates off, each with a heap profile (V-heap.heap.pb.gz)
out=$1; A=$2; B=$3
cd "$out" || exit 1
for v in A B; do
  eval bin=\$$v
  echo "$v-heap start $(date +%T) $(uptime)" >> ab.log
  timeout 400 "$bin" bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 42000 --heap-profile "$v-heap.heap.pb.gz" > "$v-heap.json" 2> "$v-heap.err"
  echo "$v-heap end $(date +%T) rc=$? $(uptime)" >> ab.log
done
echo "done heap $(date +%T)" >> ab.log

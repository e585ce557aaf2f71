#!/bin/sh
# usage: ab.sh OUTDIR ROUNDS BIN_A BIN_B [extra bench args]
out=$1; rounds=$2; A=$3; B=$4; shift 4
cd $out
for r in $(seq 1 $rounds); do
  for v in A B; do
    eval bin=\$$v
    echo "$v round $r start $(date +%T) $(uptime)" >> ab.log
    timeout 300 $bin bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 42000 "$@" > $v-$r.json 2> $v-$r.err
    echo "$v round $r end $(date +%T) $(uptime)" >> ab.log
  done
done
echo done >> ab.log

#!/bin/sh
# usage: gogc.sh OUTDIR BIN "100 80 70 50 100 50 70 80"
out=$1; bin=$2; seq="$3"
cd $out; i=0
for g in $seq; do
  i=$((i+1))
  echo "GOGC=$g run $i start $(date +%T) $(uptime)" >> ab.log
  GOGC=$g timeout 300 $bin bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 42000 --heap-profile g$g-$i.heap > g$g-$i.json 2> g$g-$i.err
  echo "GOGC=$g run $i end $(date +%T) $(uptime)" >> ab.log
done
echo done >> ab.log

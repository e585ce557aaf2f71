#!/bin/sh
# Dense and light paths, A (--max-procs $(nproc), no controller) against B (auto), one at a
# time, alternated A B B A. Usage: dense.sh BIN OUTDIR
BIN=$1; OUT=$2; P=$(nproc); log=$OUT/dense.log
one() { # tag round kind args...
  tag=$1; r=$2; kind=$3; shift 3
  echo "$kind $tag r$r start $(date -u +%T) $(uptime)" >> $log
  $BIN bench "$@" > $OUT/$tag-$kind-r$r.json 2> $OUT/$tag-$kind-r$r.err
  echo "$kind $tag r$r end   $(date -u +%T) $(uptime)" >> $log
}
for pair in "A 1" "B 1" "B 2" "A 2"; do
  set -- $pair; tag=$1; r=$2; mp=""; [ $tag = A ] && mp="--max-procs $P"
  one $tag $r dense2000 --devices 2000 --enrichment --interval 10s --warmup 40s --duration 40s --base-port 36000 $mp
done
for pair in "A 1" "B 1" "B 2" "A 2"; do
  set -- $pair; tag=$1; r=$2; mp=""; [ $tag = A ] && mp="--max-procs $P"
  one $tag $r light500 --devices 500 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --base-port 36000 $mp
done

#!/bin/sh
# The light path with a warm-up longer than the controller's 30 s hold (its steady state),
# A (--max-procs $(nproc)) against B (auto), alternated A B B A. Usage: light40.sh BIN OUTDIR
BIN=$1; OUT=$2; P=$(nproc); log=$OUT/dense.log
for pair in "A 1" "B 1" "B 2" "A 2"; do
  set -- $pair; tag=$1; r=$2; mp=""; [ $tag = A ] && mp="--max-procs $P"
  echo "light500w40 $tag r$r start $(date -u +%T) $(uptime)" >> $log
  $BIN bench --devices 500 --checks-per-device 10 --plugin uptime --interval 1s --warmup 40s --duration 20s --base-port 36000 $mp > $OUT/$tag-light500w40-r$r.json 2> $OUT/$tag-light500w40-r$r.err
  echo "light500w40 $tag r$r end   $(date -u +%T) $(uptime)" >> $log
done

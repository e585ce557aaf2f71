#!/bin/sh
# A/B/C of runtime.max_procs, all three at once on their own ports (the same minutes):
# A = --max-procs $(nproc) (the runtime's default, no controller: the behaviour before),
# B = the default (auto), C = --max-procs 1. Usage: ab.sh BIN DEVICES ROUND OUTDIR
BIN=$1; N=$2; R=$3; OUT=$4
P=$(nproc)
log=$OUT/ab.log
echo "round $R devices $N start $(date -u +%T) $(uptime)" >> $log
run() { # tag maxprocs port
  $BIN bench --devices $N --enrichment --interval 60s --duration 60s --warmup 65s --base-port $3 $2 > $OUT/$1-$N-r$R.json 2> $OUT/$1-$N-r$R.err &
}
if [ $((R % 2)) = 1 ]; then
  run A "--max-procs $P" 36000; run B "" 36200; run C "--max-procs 1" 36400
else
  run C "--max-procs 1" 36400; run B "" 36200; run A "--max-procs $P" 36000
fi
sleep 100; echo "round $R devices $N mid   $(date -u +%T) $(uptime)" >> $log
wait
echo "round $R devices $N end   $(date -u +%T) $(uptime)" >> $log

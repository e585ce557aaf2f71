#!/bin/sh
# usage: ab.sh OUTDIR BIN_A BIN_B RUN...   RUN = <A|B>-<off|on|gogc50>-<n>
# One run at a time, 2,000 simulated switch48 devices with enrichment every
# 30 s; "on" adds --rates; "gogc50" runs with GOGC=50 in the environment
# (the node honours it over its default 80, internal/memlimit). Each run
# writes RUN.json (the harness's one JSON object) and RUN.err, and appends
# its start and end with `uptime` to ab.log.
out=$1; A=$2; B=$3; shift 3
cd "$out" || exit 1
for run in "$@"; do
  v=${run%%-*}; mode=$(echo "$run" | cut -d- -f2)
  eval bin=\$$v
  extra=""; env=""
  case $mode in
    on) extra="--rates" ;;
    gogc50) env="GOGC=50" ;;
  esac
  echo "$run start $(date +%T) $(uptime)" >> ab.log
  env $env timeout 400 "$bin" bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 42000 $extra > "$run.json" 2> "$run.err"
  echo "$run end $(date +%T) rc=$? $(uptime)" >> ab.log
done
echo "done $(date +%T)" >> ab.log

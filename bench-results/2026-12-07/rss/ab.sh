#!/bin/bash
# A/B at 2,000 devices, alternating; one JSON per line per (binary, rates)
cd /tmp/rss
for step in "a off" "b off" "b on" "a on" "b off" "a off" "a on" "b on"; do
  set -- $step
  f=""; [ $2 = on ] && f=--rates
  echo "$(date -u +%T) $1 $2 $(uptime | sed 's/.*load/load/')" >> ab.log
  timeout 600 ./panoptes-$1 bench --base-port 32000 --devices 2000 --enrichment --interval 60s --duration 60s --warmup 65s $f 2>>ab-$1-$2.err | tr -d '\n ' >> ab-$1-$2.jsonl
  echo >> ab-$1-$2.jsonl
done
echo "$(date -u +%T) end $(uptime | sed 's/.*load/load/')" >> ab.log

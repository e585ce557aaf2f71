#!/bin/sh
# harness A/B at 2,000 devices, rates on: A and B at once on different ports, twice (ports swapped)
# usage: ab.sh NAME A-binary B-binary
N=$1; A=$2; B=$3
for round in 1 2; do
  if [ $round = 1 ]; then pa=38000; pb=53000; else pa=53000; pb=38000; fi
  echo "round $round start $(uptime)" >> ab-$N.log
  $A bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --rates --base-port $pa > ab-$N-A-$round.json 2> ab-$N-A-$round.stderr &
  $B bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --rates --base-port $pb > ab-$N-B-$round.json 2> ab-$N-B-$round.stderr &
  wait
  echo "round $round end $(uptime)" >> ab-$N.log
done

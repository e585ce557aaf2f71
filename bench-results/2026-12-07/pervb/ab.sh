#!/bin/bash
# ab.sh NAME A B [extra bench flags...]: alternate A and B, rates off and on, 2,000 devices
name=$1; a=$2; b=$3; shift 3
cd "$(dirname "$0")"   # A and B are binaries beside this script
for round in 1 2; do   # ab-c1 and ab-enrich ran one round
 for rates in false true; do
  for side in A B; do
   bin=$a; [ $side = B ] && bin=$b
   out=ab-$name-rates$rates-$side-$round
   echo "$(date -u +%H:%M:%S) $out $(uptime | sed 's/.*load/load/')" >> ab-$name.log
   ./$bin bench --base-port 43000 --devices 2000 --interval 30s --duration 60s --rates=$rates "$@" > $out.json 2> $out.stderr
   python3 -c "import json;d=json.load(open('$out.json'));print('   ', '$out', round(d['collector_cpu_seconds_per_1m_varbinds'],3), 'rss', d['rss_bytes']>>20, 'missed', d['missed_checks'], 'p99', d['poll_to_sink_latency_p99_ms'])" >> ab-$name.log
  done
 done
done
echo "$(date -u +%H:%M:%S) done $(uptime | sed 's/.*load/load/')" >> ab-$name.log

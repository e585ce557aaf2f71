#!/bin/bash
# ab2.sh NAME A B [flags]: one A B pair, rates off only
name=$1; a=$2; b=$3; shift 3
cd "$(dirname "$0")"
for side in A B; do
  bin=$a; [ $side = B ] && bin=$b
  out=ab-$name-ratesfalse-$side-1
  echo "$(date -u +%H:%M:%S) $out $(uptime | sed 's/.*load/load/')" >> ab-$name.log
  ./$bin bench --base-port 43000 --devices 2000 --interval 30s --duration 60s --rates=false "$@" > $out.json 2> $out.stderr
  python3 -c "import json;d=json.load(open('$out.json'));print('   ', '$out', round(d['collector_cpu_seconds_per_1m_varbinds'],3), 'rss', d['rss_bytes']>>20, 'missed', d['missed_checks'], 'p99', d['poll_to_sink_latency_p99_ms'])" >> ab-$name.log
done
echo "$(date -u +%H:%M:%S) done $(uptime | sed 's/.*load/load/')" >> ab-$name.log

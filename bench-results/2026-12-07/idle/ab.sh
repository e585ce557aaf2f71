#!/bin/bash
# ab.sh N ROUNDS TAG: base (A) and this branch (B) benched at the same time on their own ports
n=$1; r=$2; tag=$3
for i in $(seq $r); do
  uptime >> ab-$tag.log
  timeout 600 ./panoptes-base bench --devices $n --enrichment --interval 60s --duration 60s --warmup 65s --base-port 54000 > ab-$tag-A-$i.json 2>/dev/null &
  timeout 600 ./panoptes-B bench --devices $n --enrichment --interval 60s --duration 60s --warmup 65s --base-port 55000 > ab-$tag-B-$i.json 2>/dev/null &
  wait
  for s in A B; do python3 -c "import json,sys; d=json.load(open('ab-$tag-$s-$i.json')); print('$s', $i, 'cores=%.4f sys=%.4f cpu_s_per_1m=%.3f p50=%.0f p99=%.0f missed=%d' % (d['collector_cpu_cores'], d['collector_system_cpu_cores'], d['collector_cpu_seconds_per_1m_varbinds'], d['poll_to_sink_latency_p50_ms'], d['poll_to_sink_latency_p99_ms'], d['missed_checks']))" >> ab-$tag.log; done
done
uptime >> ab-$tag.log

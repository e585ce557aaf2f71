#!/bin/sh
cd "$(dirname "$0")"
for f in a-rates1 b-rates1 b-rates2 a-rates2 a-norates1 b-norates1 b2-rates3 a-rates3 a-rates4 b2-rates4 a-rates5 b3-rates5; do
  [ -s $f.json ] || continue
  jq -r --arg f $f '[$f, (.rss_bytes_per_device/1024|floor), (.go_heap_live_bytes/1048576|floor), .collector_cpu_seconds_per_1m_varbinds, .collector_cpu_cores, .poll_to_sink_latency_p99_ms, .missed_checks, (.memory|tostring|.[0:400])] | @tsv' $f.json
done

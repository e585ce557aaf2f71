#!/bin/sh
# prints each run's figures: file, RSS per device (KB), live heap (MB), CPU-s per 1M varbinds, bytes allocated per check, GCs a minute, missed, p99 ms
for f in "$@"; do jq -r --arg f "$f" '[$f, (.rss_bytes_per_device/1000|floor), (.go_heap_live_bytes/1e6|floor), (.collector_cpu_seconds_per_1m_varbinds*1000|round/1000), (.allocated_bytes_per_check|floor), (.gc_cycles_per_minute|round), .missed_checks, (.poll_to_sink_latency_p99_ms|round)] | @tsv' $f; done

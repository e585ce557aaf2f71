#!/bin/sh
# one line a run: file, bytes allocated per check, GCs a minute, CPU-s per 1M varbinds, RSS per device (KB), Go heap live (MB), missed checks, GOGC
printf 'run\tB/check\tGC/min\tCPUs/1Mvb\tRSS KB/dev\theap MB\tmissed\tGOGC\n'
for f in "$@"; do jq -r --arg f "$(basename $f .json)" '[$f, (.allocated_bytes_per_check|floor), (.gc_cycles_per_minute*10|round/10), (.collector_cpu_seconds_per_1m_varbinds*1000|round/1000), (.rss_bytes_per_device/100|round/10), (.go_heap_live_bytes/1e5|round/10), .missed_checks, .go_gc_percent] | @tsv' "$f"; done

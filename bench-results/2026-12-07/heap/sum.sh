cd $1; for f in $2; do python3 -c "
import json,sys; d=json.load(open('$f.json'))
print('$f', round(d['collector_cpu_seconds_per_1m_varbinds'],3), 'rss/dev', round(d['rss_bytes_per_device']), 'live MB', round(d['go_heap_live_bytes']/2**20,1), 'alloc/check', round(d['allocated_bytes_per_check']), 'gc/min', round(d['gc_cycles_per_minute'],1), 'missed', d['missed_checks'], 'p99', d['poll_to_sink_latency_p99_ms'], 'gogc', d['go_gc_percent'])" 2>&1 | tail -1; done

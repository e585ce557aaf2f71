import json,sys,glob,os
d=sys.argv[1]
print("| run | CPU-s/1M vb | cores | RSS KB/dev | live MB | gc% | P end | p50/p99 ms | missed/failed | vb/req | checks/s |")
for f in sorted(glob.glob(d+'/*.json')):
    try: j=json.load(open(f))
    except Exception as e: print(os.path.basename(f),'ERR',e); continue
    print("| %s | %.3f | %.4f | %.1f | %.1f | %s | %s | %.0f/%.0f | %d/%d | %s | %.0f |"%(os.path.basename(f)[:-5],j['collector_cpu_seconds_per_1m_varbinds'],j['collector_cpu_cores'],j['rss_bytes_per_device']/1000,j['go_heap_live_bytes']/1e6,j.get('go_gc_percent'),j.get('go_max_procs_at_end'),j['poll_to_sink_latency_p50_ms'],j['poll_to_sink_latency_p99_ms'],j['missed_checks'],j['failed_checks'],('%.1f'%j['snmp_varbinds_per_request']) if 'snmp_varbinds_per_request' in j else '-',j['checks_per_second']))

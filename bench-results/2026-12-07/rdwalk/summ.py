import json,sys
keys=['collector_cpu_seconds_per_1m_varbinds','collector_cpu_cores','collector_system_cpu_cores','simulator_cpu_cores','varbinds_per_second','go_max_procs_at_end','missed_checks','failed_checks','poll_to_sink_latency_p50_ms','poll_to_sink_latency_p99_ms','snmp_datagrams_per_sendmmsg','snmp_datagrams_per_recvmmsg','rss_bytes_per_device','gc_cycles_per_minute','allocated_bytes_per_check']
tag=sys.argv[1]
a=json.load(open('A-'+tag+'.json')); b=json.load(open('B-'+tag+'.json'))
print(open('ab-'+tag+'.load').read().strip())
for k in keys:
  x,y=a.get(k),b.get(k)
  r=(y/x) if isinstance(x,(int,float)) and x else ''
  print(f"{k:45s} {x!s:>22} {y!s:>22} {r if r=='' else round(r,3)}")

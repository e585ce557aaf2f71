#!/usr/bin/env python3
# One row per run: python3 summary.py DIR
import json, sys, glob, os
rows = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    try:
        r = json.load(open(f))
    except Exception as e:
        print(os.path.basename(f), "unreadable", e); continue
    print("%-22s cores %.4f  sys %.4f  cpu/1Mvb %.3f  vb/s %8.0f  lateP99 %6.1f ms  sinkP50/P99 %5.0f/%5.0f ms  procs %s end %d changes %d  missed %d  rss %.0f MB" % (
        os.path.basename(f)[:-5], r["collector_cpu_cores"], r["collector_system_cpu_cores"], r["collector_cpu_seconds_per_1m_varbinds"],
        r["varbinds_per_second"], r["schedule_lateness_p99_ms"], r["poll_to_sink_latency_p50_ms"], r["poll_to_sink_latency_p99_ms"],
        r.get("max_procs"), r.get("go_max_procs_at_end", 0), r.get("max_procs_changes", 0), r["missed_checks"], r["rss_bytes"]/2**20))

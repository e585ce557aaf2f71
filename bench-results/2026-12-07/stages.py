#!/usr/bin/env python3
"""Stage account of a Go CPU profile: `go tool pprof -traces PROFILE | stages.py [JSON]`.

Each sample's stack is given to the first stage (in the order below) one of
whose patterns occurs in any frame; the leaf frame says whether the sample was
spent in a system call. With the harness's JSON (collector CPU and varbinds per
second) each share is also given as CPU-µs per varbind.
"""
import json, re, sys

STAGES = [
    ("harness tailer (bench only)", ["panoptes/internal/bench."]),
    ("GC", ["runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.bgscavenge",
            "runtime.(*pageAlloc).scavenge", "runtime.gcStart", "runtime.markroot", "runtime.gcMarkDone",
            "runtime.gcMarkTermination", "runtime.sweepone", "runtime.(*mheap).reclaim"]),
    ("KV: rate state flush", ["panoptes/internal/rate.(*Processor).Flush"]),
    ("rates", ["panoptes/internal/rate."]),
    ("KV/enrichment/inventory", ["panoptes/internal/enrich.", "panoptes/internal/inventory.", "panoptes/internal/cluster."]),
    ("sink: validate", ["panoptes/internal/metric.Validate"]),
    ("sink: decompress", ["panoptes/internal/wire.(*Reader)", "panoptes/internal/wire.Decompress"]),
    ("sink: file write+fsync", ["panoptes/internal/sink/file"]),
    ("sink: consumer (fetch, ack, rest)", ["panoptes/internal/sink."]),
    ("SNMP send (sendmmsg)", ["panoptes/internal/snmp.(*muxSocket).sendLoop", "panoptes/internal/snmp.(*muxSocket).write"]),
    ("SNMP receive (recvmmsg)", ["panoptes/internal/snmp.(*muxSocket).readLoop"]),
    ("SNMP decode", ["panoptes/internal/snmp.(*decoder)", "panoptes/internal/snmp.(*muxConn).decode"]),
    ("SNMP session, request, wait", ["panoptes/internal/snmp.", "panoptes/internal/ber."]),
    ("building groups (plugin)", ["panoptes/internal/poll", "panoptes/internal/plugin", "panoptes/internal/profile."]),
    ("encoding (JSON)", ["panoptes/internal/metric.appendGroup", "panoptes/internal/metric.AppendJSON",
                         "panoptes/internal/metric.(*Encoder)", "panoptes/internal/wire.(*Encoder).Encode"]),
    ("compression (S2)", ["panoptes/internal/wire.(*Encoder).Compress", "panoptes/internal/wire.Compress", "s2.Encode"]),
    ("publish (ours + NATS client)", ["panoptes/internal/bus.", "nats.go/jetstream.(*jetStream).PublishMsgAsync", "nats%2ego.(*Conn).publish", "nats%2ego.(*Conn).flusher"]),
    ("JetStream store: consumer state (ack floor) writes", ["nats-server/v2/server.(*consumerFileStore)"]),
    ("JetStream store: message write", ["nats-server/v2/server.(*fileStore).StoreMsg", "nats-server/v2/server.(*fileStore).storeRawMsg", "nats-server/v2/server.(*msgBlock).writeMsgRecord"]),
    ("JetStream store: sync, flush, cache, index", ["nats-server/v2/server.(*fileStore)", "nats-server/v2/server.(*msgBlock)"]),
    ("JetStream stream/consumer (server)", ["nats-server/v2/server.(*stream)", "nats-server/v2/server.(*consumer)", "nats-server/v2/server.(*jsAccount)", "nats-server/v2/server.(*jetStream)"]),
    ("NATS server: client I/O, routing", ["nats-server/v2/server."]),
    ("NATS client: read loop, delivery", ["nats%2ego.", "nats.go/jetstream."]),
    ("scheduler, runner (ours)", ["panoptes/internal/schedule", "panoptes/internal/node", "panoptes/internal/collector", "panoptes/internal/checkstate"]),
    ("Go scheduler, netpoll, timers", ["runtime.schedule", "runtime.findRunnable", "runtime.mcall", "runtime.park_m", "runtime.sysmon", "runtime.mstart", "runtime.goexit0", "runtime.(*timers)"]),
]
SYS_LEAF = re.compile(r"^(internal/runtime/syscall|syscall\.|runtime\.(futex|usleep|madvise|write1|read|epollwait|nanosleep|osyield|tgkill|sigprocmask|rt_sigaction|mmap|munmap))")

def parse(lines):
    cur, stack = None, []
    for line in lines:
        if line.startswith("-----------+"):
            if cur is not None:
                yield cur, stack
            cur, stack = None, []
            continue
        m = re.match(r"^\s+([\d.]+)(ms|s|us|µs|ns)\s+(\S.*)$", line)
        if m and cur is None and stack == []:
            v = float(m.group(1)) * {"s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}[m.group(2)]
            cur, stack = v, [m.group(3).strip()]
        elif cur is not None and line.strip():
            stack.append(line.strip())
    if cur is not None:
        yield cur, stack

def main():
    res = json.load(open(sys.argv[1])) if len(sys.argv) > 1 else None
    tot, sysall = 0.0, 0.0
    acc = {}
    for v, stack in parse(sys.stdin):
        name = "other"
        for st, pats in STAGES:
            if any(p in f for f in stack for p in pats):
                name = st
                break
        a = acc.setdefault(name, [0.0, 0.0])
        a[0] += v
        s = bool(SYS_LEAF.match(stack[0]))
        if s:
            a[1] += v
            sysall += v
        tot += v
    per_vb = None
    if res:
        per_vb = res["collector_cpu_cores"] / res["varbinds_per_second"] * 1e6  # CPU-µs per varbind
        print(f"collector {res['collector_cpu_cores']:.3f} cores, {res['varbinds_per_second']:.0f} varbinds/s: "
              f"{per_vb:.3f} CPU-µs/varbind ({res['collector_cpu_seconds_per_1m_varbinds']:.2f} CPU-s/1M), "
              f"system {res['collector_system_cpu_cores']/res['collector_cpu_cores']*100:.0f} % (rusage)")
    print(f"profile {tot:.2f} s sampled; in system calls {sysall/tot*100:.1f} %")
    print("| stage | share of CPU | of which in syscalls | CPU-µs / varbind |")
    print("|---|---|---|---|")
    order = [s for s, _ in STAGES] + ["other"]
    for st in order:
        if st not in acc:
            continue
        v, s = acc[st]
        pv = f"{v/tot*per_vb:.3f}" if per_vb else "-"
        print(f"| {st} | {v/tot*100:.1f} % | {s/tot*100:.1f} % | {pv} |")

main()

#!/usr/bin/env python3
"""combine.py RUN...: one table of the stage accounts (RUN.stages.md) side by side: share % (CPU-µs/varbind)."""
import sys
runs = sys.argv[1:]
rows, order, head = {}, [], {}
for r in runs:
    for line in open(r + ".stages.md"):
        if line.startswith("collector"):
            head[r] = line.split(":")[1].split("(")[0].strip()  # "2.934 CPU-µs/varbind"
        if not line.startswith("| ") or line.startswith("| stage"):
            continue
        c = [x.strip() for x in line.strip().strip("|").split("|")]
        if c[0] not in rows:
            rows[c[0]] = {}
            order.append(c[0])
        rows[c[0]][r] = (c[1], c[2], c[3])
# the stages' order is stages.py's (the order in the files), merged across runs
import re
src = open(__file__.replace("combine.py", "stages.py")).read()
canon = re.findall(r'^\s+\("([^"]+)", \[', src, re.M) + ["other"]
order.sort(key=lambda st: canon.index(st) if st in canon else len(canon))
print("| stage | " + " | ".join(runs) + " |")
print("|---|" + "---|" * len(runs))
print("| **collector CPU per varbind** | " + " | ".join(f"**{head.get(r,'')}**" for r in runs) + " |")
for st in order:
    cells = []
    for r in runs:
        if r in rows[st]:
            share, sysc, us = rows[st][r]
            cells.append(f"{share} ({us})")
        else:
            cells.append("–")
    print(f"| {st} | " + " | ".join(cells) + " |")

import re,sys
# Sum perf trace -s per-thread tables into per-syscall totals.
def load(f):
    tot={}
    for line in open(f):
        m=re.match(r'\s+(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)',line)
        if m and m.group(1) not in ('syscall',):
            n=m.group(1); tot[n]=tot.get(n,0)+int(m.group(2))
    return tot
a=load(sys.argv[1]); b=load(sys.argv[2]); secs=float(sys.argv[3])
names=sorted(set(a)|set(b), key=lambda n:-(a.get(n,0)+b.get(n,0)))
print(f"{'syscall':18s} {'A /s':>9s} {'B /s':>9s}")
for n in names[:14]:
    print(f"{n:18s} {a.get(n,0)/secs:9.1f} {b.get(n,0)/secs:9.1f}")
print(f"{'total':18s} {sum(a.values())/secs:9.1f} {sum(b.values())/secs:9.1f}")

#!/bin/bash
# Quiet-machine rows for issue 15 (lead, session 10). Usage: quiet.sh OUTDIR BIN_A BIN_B
# A: 8e39ff1 (main at the end of session 8, before the credential-by-pointer cut), B: main at the end of session 10.
set -u
out=$1; A=$2; B=$3
mkdir -p "$out"
run() { # name bin args... (env GOGC passed through)
  local name=$1 bin=$2; shift 2
  rm -rf /tmp/panoptes-bench-* 2>/dev/null
  echo "$(date +%T) $name load $(cut -d' ' -f1-3 /proc/loadavg) GOGC=${GOGC:-}: $(basename $bin) $*" >> "$out/commands.txt"
  "$bin" bench "$@" > "$out/$name.json" 2> "$out/$name.err"
}
E="--enrichment --interval 60s --duration 120s --warmup 65s"
run a-d1000-enrich $A --devices 1000 $E
run b-d1000-enrich $B --devices 1000 $E
run b-d10000-enrich $B --devices 10000 $E
run a-d10000-enrich $A --devices 10000 $E
GOGC=50 run b-d10000-enrich-gogc50 $B --devices 10000 $E
run b-d10000-enrich-rates $B --devices 10000 $E --rates
run b-light50k $B --devices 5000 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --max-concurrent 1024
run a-light50k $A --devices 5000 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --max-concurrent 1024
echo "$(date +%T) done" >> "$out/commands.txt"

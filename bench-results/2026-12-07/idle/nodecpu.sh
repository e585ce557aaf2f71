#!/bin/bash
# nodecpu.sh BIN DEVICES PORT WARM WIN: a real node (panoptes run, no harness) polling DEVICES
# simulated switch48 (panoptes sim --shared-port; interface with enrichment: true every 60s: the
# bench's config) — the node process's CPU (utime+stime from /proc) over WIN seconds after WARM.
# Environment: BT the file sink's batch_timeout (default 200ms, as the bench), EXTRA a config line
# (e.g. "cluster: {heartbeat: 10s}"), NODEENV an environment setting for the node only (GOMAXPROCS=1).
set -e
bin=$1; n=$2; port=$3; warm=$4; win=$5
d=$(mktemp -d /tmp/nodecpu.XXXX); cd $d
printf 'id,endpoint\n' > devices.csv
if [ "$n" -gt 0 ]; then
  $bin sim --devices $n --base-port $port --template switch48 --seed 1 --inventory devices.csv --shared-port > sim.log 2>&1 & sp=$!
  for i in $(seq 50); do [ -s devices.csv ] && [ $(wc -l < devices.csv) -gt $n ] && break; sleep 0.2; done
fi
cat > panoptes.yaml <<EOC
site: bench
${EXTRA}
data_dir: data
http: {listen: ""}
log: {level: warn}
discovery:
  interval: 1h
  defaults: {site: bench}
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  transport: shared
  timeout: 5s
  retries: 1
  max_repetitions: 50
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
polling:
  max_concurrent_checks: 512
  plugins:
    - {name: interface-0, plugin: interface, interval: 60s, options: {enrichment: true}}
sinks:
  - {type: file, path: metrics.jsonl, max_size: 4GiB, max_files: 1, batch_size: 2000, batch_timeout: ${BT:-200ms}}
EOC
env ${NODEENV:-X=1} $bin run --config panoptes.yaml > run.log 2>&1 & np=$!
sleep $warm
tck=$(getconf CLK_TCK)
a=$(awk '{print $14, $15}' /proc/$np/stat); sleep $win; b=$(awk '{print $14, $15}' /proc/$np/stat)
set -- $a $b
lines=$(wc -l < metrics.jsonl 2>/dev/null || echo 0)
kill $np; [ -n "$sp" ] && kill $sp; wait 2>/dev/null || true
echo "bin=$(basename $bin) devices=$n win=$win user=$(echo "($3-$1)/$tck" | bc -l | cut -c1-6) sys=$(echo "($4-$2)/$tck" | bc -l | cut -c1-6) cores=$(echo "($3+$4-$1-$2)/$tck/$win" | bc -l | cut -c1-7) lines=$lines load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
cd /; rm -rf $d

#!/usr/bin/env bash
# The demo behind `make run`: two simulated devices on loopback, then
# `panoptes run` with examples/panoptes.yaml. Ctrl-C stops everything.
#   127.0.0.1:11161  snmpsimd replaying a recorded Cisco 3750 (community cisco_16_switch)
#   127.0.0.1:11162  net-snmp snmpd describing this machine (community public)
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/sbin"
work=data/demo
mkdir -p "$work/snmpsim" "$work/cache" "$work/snmpd"

rec=/usr/share/doc/snmpsim/examples/data/cisco_16_switch.snmprec
if [ ! -f "$work/snmpsim/cisco_16_switch.snmprec" ]; then
  if [ -f "$rec.gz" ]; then gunzip -c "$rec.gz" > "$work/snmpsim/cisco_16_switch.snmprec"
  else cp "$rec" "$work/snmpsim/"; fi
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

user_flags=()
if [ "$(id -u)" -eq 0 ]; then
  # snmpsimd refuses to run as root; give the unprivileged user its files.
  chown -R nobody:nogroup "$work/snmpsim" "$work/cache"
  user_flags=(--process-user=nobody --process-group=nogroup)
fi
snmpsimd --v2c-arch --data-dir="$work/snmpsim" --cache-dir="$work/cache" \
  --agent-udpv4-endpoint=127.0.0.1:11161 "${user_flags[@]}" \
  --logging-method=file:"$PWD/$work/snmpsim.log" >/dev/null 2>&1 &
pids+=($!)

cat > "$work/snmpd/snmpd.conf" <<CONF
rocommunity public 127.0.0.1
sysLocation panoptes demo
sysContact nobody@example.com
CONF
SNMP_PERSISTENT_DIR="$PWD/$work/snmpd/persist" snmpd -f -C -c "$work/snmpd/snmpd.conf" \
  -Lf "$work/snmpd.log" udp:127.0.0.1:11162 &
pids+=($!)

for i in $(seq 1 50); do
  if snmpget -v2c -c cisco_16_switch -t 0.2 -r 0 127.0.0.1:11161 1.3.6.1.2.1.1.3.0 >/dev/null 2>&1 &&
     snmpget -v2c -c public -t 0.2 -r 0 127.0.0.1:11162 1.3.6.1.2.1.1.3.0 >/dev/null 2>&1; then
    break
  fi
  sleep 0.2
done
echo "demo: simulated devices on 127.0.0.1:11161 (Cisco 3750 recording) and 127.0.0.1:11162 (snmpd)"
echo "demo: metrics → data/metrics.jsonl, self-metrics → http://127.0.0.1:9301/metrics; Ctrl-C to stop"
bin/panoptes run --config examples/panoptes.yaml "$@"

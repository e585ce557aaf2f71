#!/usr/bin/env bash
# Installs what the tests need from Debian's packages: net-snmp's agent and
# tools (snmpd, snmpbulkwalk, snmpusm), snmpsim with its device recordings, and the
# real sinks InfluxDB 1.x and Prometheus (with promtool), systemd for
# systemd-analyze, which checks the Debian package's unit (scripts/test-deb.sh;
# systemd need not run), lldpd (real LLDP neighbours), Alertmanager (the
# alert sink's receiver) and Chromium (the status page's browser test,
# headless). Idempotent: does nothing when everything is present.
# The demo (make run) needs none of this.
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"

need=()
command -v snmpd >/dev/null 2>&1 || need+=(snmpd)
command -v snmpbulkwalk >/dev/null 2>&1 && command -v snmpusm >/dev/null 2>&1 || need+=(snmp)
command -v snmpsimd >/dev/null 2>&1 || need+=(snmpsim)
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# promtool (same package) checks and unit-tests deploy/prometheus's rules.
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# lldpd with its AgentX subagent builds real LLDP neighbour tables in
# network namespaces; Alertmanager receives the alert sink's alerts.
command -v lldpd >/dev/null 2>&1 || need+=(lldpd)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# Headless Chromium loads every view of the status page (internal/web).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# internal/testutil/daemon's own test serves with python3's http.server.
command -v python3 >/dev/null 2>&1 || need+=(python3)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: need root to install: ${need[*]} (run: apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the packages from starting system daemons (snmpd on :161, influxd,
# prometheus): tests start their own on free loopback ports.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  made_policy=1
fi
trap '[ -n "$made_policy" ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

#!/usr/bin/env bash
# Installs what the tests and the demo need from Debian's packages: net-snmp's
# agent and tools (snmpd, snmpbulkwalk) and snmpsim with its device recordings.
# Idempotent: does nothing when everything is present.
set -euo pipefail

need=()
command -v snmpd >/dev/null 2>&1 || [ -x /usr/sbin/snmpd ] || need+=(snmpd)
command -v snmpbulkwalk >/dev/null 2>&1 || need+=(snmp)
command -v snmpsimd >/dev/null 2>&1 || need+=(snmpsim)
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || need+=(golang-go)

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
$sudo apt-get update -qq
# policy-rc.d keeps the package from starting a system snmpd on port 161.
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

#!/usr/bin/env bash
# The Debian package end to end, as an operator meets it: build it
# (scripts/release.sh for this machine's architecture), dpkg -i it (twice:
# the maintainer scripts are idempotent), check its files, user, conffiles
# and unit (systemd-analyze verify, and the sandbox's exposure score), run
# panoptes as the unit would (its user, capabilities, environment file,
# working directory and command lines, read from the installed unit) with
# the shipped config, then against `panoptes sim` until metrics arrive, and
# dpkg --purge it, checking nothing is left.
#
# Needs root (dpkg). Without root it skips, saying so; under CI=true it fails.
# Leaves the machine as it found it: a panoptes package installed before is
# refused rather than replaced.
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

t0=$(date +%s)
say() { echo "test-deb: [$(($(date +%s) - t0))s] $*" >&2; }
fail() {
  say "FAIL: $*"
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  if [ "${CI:-}" = true ]; then
    fail "must run as root under CI=true (it installs a .deb with dpkg -i)"
  fi
  say "SKIPPED: installs and purges a .deb, which needs root; run 'sudo make test-deb' (CI runs it)"
  exit 0
fi
for tool in dpkg-deb dpkg-query setpriv flock systemd-analyze go; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs what the tests need)"
done

# One run at a time on a machine: dpkg has one database.
exec 9>/var/lock/panoptes-test-deb.lock
flock -w 600 9 || fail "another test-deb run holds /var/lock/panoptes-test-deb.lock"
if dpkg-query -W -f='${Status}' panoptes 2>/dev/null | grep -q ' installed$'; then
  fail "a panoptes package is already installed here: this test installs and purges its own (dpkg --purge panoptes first)"
fi

work=$(mktemp -d)
pids=()
installed=""
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$installed" ]; then dpkg --purge panoptes >/dev/null 2>&1 || true; fi
  if [ $rc -ne 0 ] && [ -d "$work" ]; then
    for f in "$work"/*.log; do
      [ -f "$f" ] && { say "--- $f"; tail -n 30 "$f" >&2; }
    done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

arch=$(dpkg --print-architecture)
version=$(scripts/version.sh)
scripts/release.sh "$work/dist" "$arch" 2>"$work/release.log" || fail "scripts/release.sh failed"
deb=$(ls "$work"/dist/panoptes_*_"$arch".deb)
say "built $(basename "$deb")"
(cd "$work/dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match the artifacts"

installed=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || fail "dpkg -i $deb (see dpkg.log)"
dpkg -i "$deb" >>"$work/dpkg.log" 2>&1 || fail "a second dpkg -i (reinstall) failed: the maintainer scripts must be idempotent"

# --- files
for f in /usr/bin/panoptes /etc/panoptes/panoptes.yaml /etc/panoptes/devices.csv /etc/default/panoptes \
  /lib/systemd/system/panoptes.service /usr/share/panoptes/profiles/cisco-ios.yaml \
  /usr/share/panoptes/profiles/README.md /usr/share/panoptes/dashboards/prometheus/panoptes-overview.json \
  /usr/share/panoptes/dashboards/influxdb/panoptes-interfaces.json /usr/share/panoptes/rules/panoptes-alerts.yml \
  /usr/share/panoptes/rules/panoptes-recording.yml /usr/share/doc/panoptes/README.md; do
  [ -f "$f" ] || fail "$f is not installed"
done
[ -x /usr/bin/panoptes ] || fail "/usr/bin/panoptes is not executable"
got=$(/usr/bin/panoptes --version)
case $got in "panoptes $version (commit "*) ;; *) fail "/usr/bin/panoptes --version says '$got', want version $version" ;; esac
go version -m /usr/bin/panoptes | grep -q 'CGO_ENABLED=0' || fail "/usr/bin/panoptes is not a static (CGO_ENABLED=0) build"
go version -m /usr/bin/panoptes | grep -q -- '-trimpath=true' || fail "/usr/bin/panoptes was not built with -trimpath"
[ "$(stat -c %a /etc/default/panoptes)" = 600 ] || fail "/etc/default/panoptes (secrets) is mode $(stat -c %a /etc/default/panoptes), want 600"

# --- user, group, directories
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd panoptes) || fail "no panoptes user"
[ "$uid" -lt 1000 ] || fail "panoptes is uid $uid, not a system user"
[ "$(getent group panoptes | cut -d: -f3)" = "$gid" ] || fail "panoptes' primary group is not the panoptes group"
[ "$home" = /var/lib/panoptes ] && [ "$shell" = /usr/sbin/nologin ] || fail "panoptes user: home $home, shell $shell"
[ "$(stat -c '%U:%G %a' /etc/panoptes)" = "root:panoptes 750" ] || fail "/etc/panoptes is $(stat -c '%U:%G %a' /etc/panoptes), want root:panoptes 750"
[ "$(stat -c '%U:%G %a' /var/lib/panoptes)" = "panoptes:panoptes 750" ] || fail "/var/lib/panoptes is $(stat -c '%U:%G %a' /var/lib/panoptes), want panoptes:panoptes 750"

# --- conffiles: dpkg knows them, with the shipped checksums
conffiles=$(dpkg-query -W -f='${Conffiles}\n' panoptes)
for f in /etc/panoptes/panoptes.yaml /etc/panoptes/devices.csv /etc/default/panoptes; do
  sum=$(awk -v f="$f" '$1 == f { print $2 }' <<<"$conffiles")
  [ -n "$sum" ] || fail "$f is not a conffile (dpkg-query: $conffiles)"
  [ "$sum" = "$(md5sum <"$f" | cut -d' ' -f1)" ] || fail "$f differs from the conffile dpkg recorded"
done

# --- the unit
unit=/lib/systemd/system/panoptes.service
systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || fail "systemd-analyze verify $unit: $(cat "$work/verify.log")"
[ ! -s "$work/verify.log" ] || fail "systemd-analyze verify $unit warns: $(cat "$work/verify.log")"
exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for panoptes.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security --offline gave no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "the unit's exposure level is $exposure, above 2.0: its sandbox was weakened"
for want in Type=notify User=panoptes ProtectSystem=strict NoNewPrivileges=yes CapabilityBoundingSet=CAP_NET_RAW \
  AmbientCapabilities=CAP_NET_RAW StateDirectory=panoptes ReadWritePaths=/var/lib/panoptes PrivateTmp=yes ProtectHome=yes; do
  grep -qx "$want" "$unit" || fail "$unit lacks $want"
done
say "installed: files, user, conffiles and unit ok (exposure $exposure)"

# --- run as the unit would
unit_get() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
user=$(unit_get User) group=$(unit_get Group) wd=$(unit_get WorkingDirectory) envfile=$(unit_get EnvironmentFile)
read -r -a pre <<<"$(unit_get ExecStartPre)"
read -r -a cmd <<<"$(unit_get ExecStart)"
caps=$(unit_get AmbientCapabilities | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
# The environment systemd gives a service with User=: a fixed PATH, the
# user's identity, and the EnvironmentFile's assignments.
svc_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME="$home" USER="$user" LOGNAME="$user" SHELL="$shell")
if [ -f "${envfile#-}" ]; then
  while IFS= read -r line; do
    case $line in '' | '#'*) ;; *) svc_env+=("$line") ;; esac
  done <"${envfile#-}"
fi
# as_unit replaces the shell it runs in: call it in a subshell, or with &
# (then $! is panoptes itself, as the unit's main PID would be).
as_unit() {
  cd "$wd"
  umask 0027
  exec env -i "${svc_env[@]}" setpriv --reuid="$user" --regid="$group" --init-groups \
    --no-new-privs --inh-caps="$caps" --ambient-caps="$caps" --bounding-set="-all,$caps" -- "$@"
}
http_get() { # path → prints the status line's code, then the body
  local port=$1 path=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
  local resp
  resp=$(cat <&3)
  exec 3<&-
  printf '%s\n' "$resp" | head -n 1 | cut -d' ' -f2
  printf '%s\n' "$resp" | sed '1,/^\r\{0,1\}$/d'
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_until() { # seconds description command...
  local secs=$1 what=$2
  local deadline=$(($(date +%s) + secs))
  shift 2
  until "$@"; do
    kill -0 "$run_pid" 2>/dev/null || fail "panoptes exited while waiting for $what (see run.log)"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no $what within ${secs}s"
    sleep 0.5
  done
}
ready() { [ "$(http_get "$http_port" /readyz 2>/dev/null | head -n 1)" = 200 ]; }
stop_run() {
  kill -TERM "$run_pid"
  local rc=0
  wait "$run_pid" || rc=$?
  [ $rc -eq 0 ] || fail "panoptes run exited $rc after SIGTERM (see run.log)"
  grep -q 'panoptes stopped' "$work/run.log" || fail "panoptes did not log a clean stop (see run.log)"
}

# The shipped config's HTTP port may be taken on a shared machine: move it,
# as an admin would, to a free one.
http_port=9301
while ! port_free $http_port; do http_port=$((http_port + 1)); done
if [ $http_port != 9301 ]; then
  sed -i "s/127.0.0.1:9301/127.0.0.1:$http_port/" /etc/panoptes/panoptes.yaml
  say "port 9301 is taken here: the config's http.listen moved to 127.0.0.1:$http_port"
fi

# 1. The shipped config as is: it validates, starts and gets ready with an
#    empty inventory.
(as_unit "${pre[@]}") >"$work/validate.log" 2>&1 || fail "ExecStartPre (${pre[*]}) failed on the shipped config: $(cat "$work/validate.log")"
as_unit "${cmd[@]}" >"$work/run.log" 2>&1 &
run_pid=$!
pids+=("$run_pid")
wait_until 60 "200 from /readyz with the shipped config" ready
pid=$run_pid
[ "$(readlink "/proc/$pid/exe")" = /usr/bin/panoptes ] || fail "process $pid is $(readlink "/proc/$pid/exe"), not /usr/bin/panoptes"
[ "$(stat -c %U "/proc/$pid")" = "$user" ] || fail "panoptes runs as $(stat -c %U "/proc/$pid"), not $user"
grep -q '^CapAmb:.*0000000000002000$' "/proc/$pid/status" || fail "panoptes' ambient capabilities are not CAP_NET_RAW alone: $(grep CapAmb "/proc/$pid/status")"
grep -q '^CapBnd:.*0000000000002000$' "/proc/$pid/status" || fail "panoptes' bounding set is not CAP_NET_RAW alone"
grep -q '^NoNewPrivs:.*1$' "/proc/$pid/status" || fail "panoptes runs without NoNewPrivs"
stop_run
say "shipped config: validated, ready with an empty inventory, stopped cleanly"

# 2. Against the simulator: devices written into the conffile inventory,
#    as an operator lists theirs.
sim_port=$((20000 + RANDOM % 9000)) # below the ephemeral ports
/usr/bin/panoptes sim --devices 20 --base-port $sim_port --template switch48,router400 \
  --credential default --inventory "$work/devices.csv" >"$work/sim.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do [ -s "$work/devices.csv" ] && break; sleep 0.1; done
[ -s "$work/devices.csv" ] || fail "panoptes sim wrote no inventory (see sim.log)"
install -m 0644 "$work/devices.csv" /etc/panoptes/devices.csv
(as_unit "${pre[@]}") >"$work/validate.log" 2>&1 || fail "ExecStartPre failed with the simulator's inventory: $(cat "$work/validate.log")"
as_unit "${cmd[@]}" >"$work/run.log" 2>&1 &
run_pid=$!
pids+=("$run_pid")
metrics=/var/lib/panoptes/metrics.jsonl
polled() {
  grep -q '"metrics_group_type":"interface"' "$metrics" 2>/dev/null &&
    grep -q '"metric_name":"polling_status","metric_value":0}' "$metrics" 2>/dev/null
}
wait_until 90 "interface metrics with polling status 0 in $metrics" polled
[ "$(stat -c %U "$metrics")" = "$user" ] || fail "$metrics is owned by $(stat -c %U "$metrics"), not $user"
self=$(http_get "$http_port" /metrics | grep '^panoptes_build_info' || true)
case $self in *"version=\"$version\"} 1"*) ;; *) fail "/metrics has no panoptes_build_info for $version: '$self'" ;; esac
# systemctl reload runs the unit's ExecReload as the unit's user: the node
# reloads its config and says so.
reload_cmd=$(unit_get ExecReload)
[ -n "$reload_cmd" ] || fail "$unit has no ExecReload"
read -r -a reload_cmd <<<"${reload_cmd//\$MAINPID/$run_pid}"
(as_unit "${reload_cmd[@]}") >"$work/reload.log" 2>&1 || fail "ExecReload (${reload_cmd[*]}) failed: $(cat "$work/reload.log")"
wait_until 30 "'config reloaded' in run.log after ExecReload" grep -q 'config reloaded' "$work/run.log"
case $(http_get "$http_port" /metrics | grep '^panoptes_config_last_reload_successful ' || true) in
*" 1") ;; *) fail "/metrics does not say the reload succeeded (panoptes_config_last_reload_successful)" ;;
esac
stop_run
say "simulator: $(grep -c . "$metrics") metrics groups written by the packaged panoptes as $user, reloaded by ExecReload"

# --- purge
installed=""
dpkg --purge panoptes >>"$work/dpkg.log" 2>&1 || fail "dpkg --purge panoptes (see dpkg.log)"
dpkg-query -W -f='${Status}' panoptes 2>/dev/null | grep -q ' installed$' && fail "panoptes is still installed after purge"
for f in /usr/bin/panoptes /etc/panoptes /etc/default/panoptes /var/lib/panoptes "$unit" /usr/share/panoptes /usr/share/doc/panoptes; do
  [ ! -e "$f" ] || fail "$f is left after dpkg --purge"
done
getent passwd panoptes >/dev/null && fail "the panoptes user is left after dpkg --purge"
getent group panoptes >/dev/null && fail "the panoptes group is left after dpkg --purge"
dpkg-statoverride --list /etc/panoptes >/dev/null 2>&1 && fail "the statoverride of /etc/panoptes is left after dpkg --purge"
say "ok: built, installed, checked, run as the unit, purged"

#!/usr/bin/env bash
# Builds the panoptes Debian package with dpkg-deb (nothing else needed).
#   scripts/build-deb.sh BINARY ARCH VERSION OUTDIR
# BINARY is a linux/ARCH panoptes (make release builds them), ARCH a Debian
# architecture (amd64, arm64), VERSION what the binary is stamped with
# (scripts/version.sh). Prints the .deb's path. Reproducible: file times are
# the commit's (SOURCE_DATE_EPOCH), owners root, entries sorted.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 BINARY ARCH VERSION OUTDIR" >&2
  exit 2
fi
bin=$1 arch=$2 version=$3 out=$4
root=$(cd "$(dirname "$0")/.." && pwd)
pkg=$root/packaging/debian
umask 022

# Debian orders versions differently from Go: v1.2.3 → 1.2.3; a commit after
# a tag, v1.2.3-4-gabc → 1.2.3+4.gabc (after it); a pre-release or a Go
# pseudo-version, v1.3.0-rc.1 → 1.3.0~rc.1 and v0.0.0-20251206174700-3d6e350abcde
# → 0.0.0~20251206174700.3d6e350abcde (before the release); -dirty → .dirty.
deb_version() {
  local v=${1#v} after=""
  v=${v/+dirty/.dirty}
  v=${v/-dirty/.dirty}
  if [[ $v =~ ^(.*)-([0-9]+)-(g[0-9a-f]+)(\.dirty)?$ ]]; then
    v=${BASH_REMATCH[1]} after="+${BASH_REMATCH[2]}.${BASH_REMATCH[3]}${BASH_REMATCH[4]}"
  fi
  v=${v/-/\~}
  v=${v//-/.}$after
  case $v in
    [0-9]*) echo "$v" ;;
    *) echo "0.0.0~$v" ;; # "dev" and other non-numeric versions
  esac
}
debver=$(deb_version "$version")

: "${SOURCE_DATE_EPOCH:=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$bin" "$stage/usr/bin/panoptes"
install -D -m 0644 "$pkg/panoptes.yaml" "$stage/etc/panoptes/panoptes.yaml"
install -D -m 0644 "$pkg/devices.csv" "$stage/etc/panoptes/devices.csv"
install -D -m 0600 "$pkg/default" "$stage/etc/default/panoptes"
install -D -m 0644 "$pkg/panoptes.service" "$stage/lib/systemd/system/panoptes.service"
install -d -m 0755 "$stage/usr/share/panoptes/profiles"
install -m 0644 "$root"/profiles/*.yaml "$root/profiles/README.md" "$stage/usr/share/panoptes/profiles/"
for d in prometheus influxdb; do
  install -d -m 0755 "$stage/usr/share/panoptes/dashboards/$d"
  install -m 0644 "$root"/deploy/grafana/$d/*.json "$stage/usr/share/panoptes/dashboards/$d/"
done
install -d -m 0755 "$stage/usr/share/panoptes/rules"
install -m 0644 "$root"/deploy/prometheus/*.yml "$stage/usr/share/panoptes/rules/"
install -D -m 0644 "$root/README.md" "$stage/usr/share/doc/panoptes/README.md"
install -m 0644 "$root/deploy/README.md" "$stage/usr/share/doc/panoptes/dashboards-and-rules.md"
install -d -m 0755 "$stage/usr/share/doc/panoptes/examples"
install -m 0644 "$root"/examples/* "$stage/usr/share/doc/panoptes/examples/"

install -d -m 0755 "$stage/DEBIAN"
for s in postinst prerm postrm; do
  install -m 0755 "$pkg/$s" "$stage/DEBIAN/$s"
done
printf '%s\n' /etc/panoptes/panoptes.yaml /etc/panoptes/devices.csv /etc/default/panoptes >"$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: panoptes
Version: $debver
Architecture: $arch
Maintainer: Panoptes developers <panoptes@panoptes-go.invalid>
Installed-Size: $size
Depends: passwd
Section: net
Priority: optional
Homepage: https://github.com/panoptes-go/panoptes
Description: distributed network telemetry collector (SNMP polling, NATS JetStream bus, sinks)
 Panoptes polls network devices over SNMP from a node close to them, turns
 raw tables into normalized metrics groups, puts them on an embedded or
 external NATS JetStream bus and writes them to files, InfluxDB, Prometheus
 and Kafka. One static binary; runs as the panoptes user under a hardened
 systemd unit (panoptes.service) with its state in /var/lib/panoptes.
CONTROL

mkdir -p "$out"
deb="$out/panoptes_${debver}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"

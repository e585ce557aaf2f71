#!/usr/bin/env bash
# The deployment examples, checked where no container engine or cluster runs
# (make test-deploy, part of make test):
# - deploy/check (a module of its own): the Kubernetes manifests strictly
#   decoded into k8s.io/api types and their cross-references, the Dockerfile
#   through BuildKit's parser and lint rules and against the build context,
#   the compose file against the Compose schema; its tests show each check
#   catches what it claims;
# - every panoptes config the examples ship passes `panoptes validate`, and
#   the compose example's Prometheus config passes `promtool check config`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { echo "test-deploy: $*" >&2; }

go -C deploy/check test -count=1 ./...
go -C deploy/check build -o "$work/check" .
"$work/check" dockerfile Dockerfile .
"$work/check" compose deploy/compose/compose.yaml
"$work/check" kubernetes -extract "$work/k8s" deploy/kubernetes/panoptes.yaml

# The release build's flags (scripts/release.sh): make test runs test-deb
# first, so this only links (a plain build would compile everything again).
CGO_ENABLED=0 go build -trimpath -o "$work/panoptes" ./cmd/panoptes
"$work/panoptes" validate --config packaging/debian/panoptes.yaml
"$work/panoptes" validate --config deploy/container/panoptes.yaml
PANOPTES_LEAF_PASSWORD=check-only "$work/panoptes" validate --config deploy/compose/hub.yaml
POD_NAME=panoptes-0 PANOPTES_ROUTE_PASSWORD=check-only PANOPTES_OPS_PASSWORD=check-only PANOPTES_COMMUNITY=public \
  "$work/panoptes" validate --config "$work/k8s/panoptes/panoptes.yaml"

if command -v promtool >/dev/null; then
  promtool check config deploy/compose/prometheus.yml >/dev/null
elif [ "${CI:-}" = true ]; then
  say "FAIL: promtool is missing (Debian's prometheus package; scripts/install-deps.sh installs it)"
  exit 1
else
  say "promtool not installed: deploy/compose/prometheus.yml not checked"
fi
say "ok"

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	k8sFile     = "../kubernetes/panoptes.yaml"
	composeFile = "../compose/compose.yaml"
	dockerfile  = "../../Dockerfile"
	repo        = "../.."
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mutate writes content with old replaced by new into dir/name; old must occur.
func mutate(t *testing.T, dir, name, content, old, new string) string {
	t.Helper()
	if !strings.Contains(content, old) {
		t.Fatalf("the fixture lacks %q: update the test", old)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Replace(content, old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantProblem(t *testing.T, problems []string, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Errorf("no problem containing %q; got %q", want, problems)
}

func TestShippedExamplesPass(t *testing.T) {
	if p, err := checkKubernetesFile(k8sFile, t.TempDir()); err != nil || len(p) > 0 {
		t.Errorf("kubernetes: %v %q", err, p)
	}
	if p, err := checkDockerfile(dockerfile, repo); err != nil || len(p) > 0 {
		t.Errorf("dockerfile: %v %q", err, p)
	}
	if p, err := checkCompose(context.Background(), composeFile); err != nil || len(p) > 0 {
		t.Errorf("compose: %v %q", err, p)
	}
}

func TestKubernetesProblems(t *testing.T) {
	src := read(t, k8sFile)
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown field", "  podManagementPolicy: Parallel\n", "  podManagementPolicy: Parallel\n  replicaz: 3\n", `unknown field "spec.replicaz"`},
		{"wrong type", "  replicas: 3\n  pod", "  replicas: three\n  pod", "spec.replicas"},
		{"duplicate field", "serviceName: panoptes", "serviceName: panoptes\n  serviceName: other", `"serviceName" already set`},
		{"unknown kind", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett", "PodDisruptionBudgett"},
		{"service not headless", "clusterIP: None", "clusterIP: 10.0.0.1", "must be headless"},
		{"routes before ready", "publishNotReadyAddresses: true", "publishNotReadyAddresses: false", "publishNotReadyAddresses"},
		{"governing service", "serviceName: panoptes", "serviceName: nats", `spec.serviceName "nats" names no Service`},
		{"ordered start", "  podManagementPolicy: Parallel\n", "  podManagementPolicy: OrderedReady\n", "must be Parallel"},
		{"readiness path", "path: /readyz", "path: /ready", "readinessProbe must be httpGet /readyz"},
		{"secret key", "key: route-password", "key: route-pasword", `has no key "route-pasword"`},
		{"missing route", "\n          - nats-route://panoptes-2.panoptes:6222", "", "lacks pod 2's stable name panoptes-2.panoptes:"},
		{"replicas in config", "replicas: 3\n      listen", "replicas: 1\n      listen", "bus.replicas 1"},
		{"target port", "targetPort: routes}", "targetPort: route}", `targets "route"`},
		{"volume mount", "- {name: data, mountPath", "- {name: state, mountPath", "volumeMount state"},
		{"bad name", "name: panoptes\n  labels: {app.kubernetes.io/name: panoptes}\ntype: Opaque", "name: Panoptes_secret\n  labels: {app.kubernetes.io/name: panoptes}\ntype: Opaque", "metadata.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mutate(t, t.TempDir(), "k8s.yaml", src, tc.old, tc.new)
			problems, err := checkKubernetesFile(p, "")
			wantProblem(t, problems, err, tc.want)
		})
	}
}

func TestKubernetesExtract(t *testing.T) {
	dir := t.TempDir()
	if p, err := checkKubernetesFile(k8sFile, dir); err != nil || len(p) > 0 {
		t.Fatalf("%v %q", err, p)
	}
	cfg := read(t, filepath.Join(dir, "panoptes", "panoptes.yaml"))
	if !strings.Contains(cfg, "nats-route://panoptes-0.panoptes:6222") {
		t.Errorf("extracted panoptes.yaml lacks the routes:\n%s", cfg)
	}
}

// The Dockerfile's mutations are checked against the real context (the
// repository), so the copy sits beside the original.
func TestDockerfileProblems(t *testing.T) {
	src := read(t, dockerfile)
	for _, tc := range []struct{ name, old, new, want string }{
		{"syntax", "FROM scratch", "FROMM scratch", "unknown instruction"},
		{"lint", "golang:${GO_VERSION}-bookworm AS build", "golang:${GO_VERSION}-bookworm as build", "FromAsCasing"},
		{"copy source", "COPY go.mod go.sum ./", "COPY go.mod go.sum go.work ./", "go.work is not in the build context"},
		{"run path", "deploy/container/panoptes.yaml", "deploy/container/panoptes.yml", "deploy/container/panoptes.yml is not in the build context"},
		{"ignored", "COPY go.mod go.sum ./", "COPY go.mod go.sum bench-results ./", "excluded from the build context by .dockerignore"},
		{"stage", "COPY --from=build /out/ /", "COPY --from=builder /out/ /", "COPY --from=builder names no earlier stage"},
		{"root", "USER 10001:10001", "USER root", "numeric non-root uid"},
		{"volume", "VOLUME /var/lib/panoptes\n", "", "no VOLUME"},
		{"go version", "ARG GO_VERSION=1.26.8", "ARG GO_VERSION=1.25.0", "but go.mod says go"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mutate(t, t.TempDir(), "Dockerfile", src, tc.old, tc.new)
			problems, err := checkDockerfile(p, repo)
			wantProblem(t, problems, err, tc.want)
		})
	}
}

// The compose mutations sit beside the original: its relative paths
// (build context, bind mounts) must resolve as they do for the real file.
func TestComposeProblems(t *testing.T) {
	src := read(t, composeFile)
	for _, tc := range []struct{ name, old, new, want string }{
		{"schema", "stop_grace_period: 60s", "stop_grace_periods: 60s", "stop_grace_periods"},
		{"network_mode", "network_mode: service:panoptes", "network_mode: service:hub", "hub"},
		{"bind mount", "./prometheus.yml:/etc", "./prometheus.yaml:/etc", "bind mount"},
		{"build context", "context: ../..", "context: ../../cmd", "build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Dir(composeFile)
			f, err := os.CreateTemp(dir, "compose-test-*.yaml")
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			t.Cleanup(func() { os.Remove(f.Name()) })
			p := mutate(t, dir, filepath.Base(f.Name()), src, tc.old, tc.new)
			problems, err := checkCompose(context.Background(), p)
			wantProblem(t, problems, err, tc.want)
		})
	}
}

package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseBusFederation(t *testing.T) {
	hub := `
bus:
  cluster:
    name: hub
    listen: 0.0.0.0:6222
    routes: [nats-route://hub1:6222, nats-route://hub2:6222, nats-route://hub3:6222]
  replicas: 3
  domain: hub
  leaf_listen: 0.0.0.0:7422
  source_domains: [edge-ams, edge-sfo]
  buffer: {max_messages: 5000, max_bytes: 16MiB}
  publish_timeout: 500ms
`
	c, err := Parse("hub.yaml", []byte(hub), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bus
	if b.Cluster.Name != "hub" || len(b.Cluster.Routes) != 3 || b.Domain != "hub" || len(b.SourceDomains) != 2 ||
		b.Buffer.MaxMessages != 5000 || b.Buffer.MaxBytes != 16<<20 || b.PublishTimeout.D() != 500*time.Millisecond ||
		b.ConnectRetry.D() != 30*time.Second {
		t.Errorf("hub bus = %+v", b)
	}
	edge := "bus:\n  domain: edge-ams\n  leaf:\n    remotes: [nats-leaf://hub1:7422, nats-leaf://hub2:7422]\n"
	if c, err := Parse("edge.yaml", []byte(edge), env(nil)); err != nil || len(c.Bus.Leaf.Remotes) != 2 {
		t.Fatalf("edge: %v, %+v", err, c)
	}
	ext := "bus:\n  url: tls://n1:4222,tls://n2:4222\n  user: panoptes\n  password: ${NATS_PW}\n  tls: {ca_file: /etc/ca.pem}\n  replicas: 3\n"
	if c, err := Parse("ext.yaml", []byte(ext), env(map[string]string{"NATS_PW": "pw"})); err != nil || c.Bus.Password != "pw" {
		t.Fatalf("external: %v, %+v", err, c)
	}
}

func TestParseBadBus(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"two credentials", "bus:\n  url: nats://x:4222\n  user: u\n  creds_file: /x.creds\n", "one kind of credentials"},
		{"password without user", "bus:\n  url: nats://x:4222\n  password: hunter22\n", "bus.password: is set without bus.user"},
		{"cert without key", "bus:\n  tls: {cert_file: /c.pem}\n", "go together"},
		{"cluster without routes", "bus:\n  cluster: {listen: 0.0.0.0:6222}\n", "bus.cluster: needs both"},
		{"bad route", "bus:\n  cluster: {listen: 0.0.0.0:6222, routes: [\"http://a:6222\"]}\n", "bus.cluster.routes[0]"},
		{"leaf without domain", "bus:\n  leaf: {remotes: [nats-leaf://hub:7422]}\n", "bus.domain: is empty"},
		{"own domain sourced", "bus:\n  domain: hub\n  source_domains: [hub]\n", "this server's own domain"},
		{"dotted domain", "bus:\n  domain: edge.ams\n", "not a domain name"},
		{"cluster with url", "bus:\n  url: nats://x:4222\n  domain: hub\n", "bus.domain: is set together with bus.url"},
		{"tiny buffer", "bus:\n  buffer: {max_bytes: 1KiB}\n", "bus.buffer.max_bytes"},
		{"leaf url with secret", "bus:\n  domain: e\n  leaf: {remotes: [\"http://u:hunter22@hub:7422\"]}\n", "with credentials, not shown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(c.yaml), env(nil))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.yaml)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter22") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

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
    insecure: true
  replicas: 3
  domain: hub
  leaf_listen: 0.0.0.0:7422
  leaf_listen_insecure: true
  source_domains: [edge-ams, edge-sfo]
  buffer: {max_messages: 5000, max_bytes: 16MiB}
  publish_timeout: 500ms
  compression: none
`
	c, err := Parse("hub.yaml", []byte(hub), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bus
	if b.Cluster.Name != "hub" || len(b.Cluster.Routes) != 3 || b.Domain != "hub" || len(b.SourceDomains) != 2 ||
		b.Buffer.MaxMessages != 5000 || b.Buffer.MaxBytes != 16<<20 || b.PublishTimeout.D() != 500*time.Millisecond ||
		b.ConnectRetry.D() != 30*time.Second || b.Compression != "none" {
		t.Errorf("hub bus = %+v", b)
	}
	edge := "bus:\n  domain: edge-ams\n  leaf:\n    remotes: [nats-leaf://hub1:7422, nats-leaf://hub2:7422]\n"
	if c, err := Parse("edge.yaml", []byte(edge), env(nil)); err != nil || len(c.Bus.Leaf.Remotes) != 2 {
		t.Fatalf("edge: %v, %+v", err, c)
	}
	secure := `
bus:
  cluster:
    listen: 0.0.0.0:6222
    routes: [nats-route://hub1:6222, nats-route://hub2:6222]
    user: route
    password: ${ROUTE_PW}
    tls: {cert_file: /etc/p/hub1.pem, key_file: /etc/p/hub1-key.pem, ca_file: /etc/p/ca.pem, verify: true}
  domain: hub
  leaf_listen: 0.0.0.0:7422
  leaf_users: [{user: ams, password: "${AMS_PW}"}, {user: sfo, password: "${SFO_PW}"}]
  leaf_tls: {cert_file: /etc/p/hub1.pem, key_file: /etc/p/hub1-key.pem, ca_file: /etc/p/ca.pem, verify: true}
`
	c, err = Parse("secure-hub.yaml", []byte(secure), env(map[string]string{"ROUTE_PW": "rpw", "AMS_PW": "apw", "SFO_PW": "spw"}))
	if err != nil {
		t.Fatal(err)
	}
	if b := c.Bus; b.Cluster.Password != "rpw" || !b.Cluster.TLS.Verify || len(b.LeafUsers) != 2 || b.LeafUsers[1].Password != "spw" || b.LeafTLS.CAFile != "/etc/p/ca.pem" {
		t.Errorf("secure hub bus = %+v", b)
	}
	secureEdge := "bus:\n  domain: edge-ams\n  leaf:\n    remotes: [nats-leaf://hub1:7422]\n    user: ams\n    password: apw\n    tls: {ca_file: /etc/p/ca.pem, cert_file: /etc/p/ams.pem, key_file: /etc/p/ams-key.pem}\n"
	if c, err := Parse("edge.yaml", []byte(secureEdge), env(nil)); err != nil || c.Bus.Leaf.User != "ams" || c.Bus.Leaf.TLS.CertFile != "/etc/p/ams.pem" {
		t.Fatalf("secure edge: %v, %+v", err, c)
	}
	node := `
bus:
  listen: 0.0.0.0:4222
  listen_users: [{user: poller, password: "${POLLER_PW}"}, {user: status, password: "${STATUS_PW}"}]
  listen_tls: {cert_file: tls/node.pem, key_file: tls/node-key.pem, ca_file: tls/ca.pem, verify: true}
`
	c, err = Parse("/etc/panoptes/node.yaml", []byte(node), env(map[string]string{"POLLER_PW": "ppw", "STATUS_PW": "spw"}))
	if err != nil {
		t.Fatal(err)
	}
	if b := c.Bus; len(b.ListenUsers) != 2 || b.ListenUsers[0].Password != "ppw" || !b.ListenTLS.Verify || b.ListenTLS.CertFile != "/etc/panoptes/tls/node.pem" {
		t.Errorf("node bus = %+v", b)
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
		{"route user without password", "bus:\n  cluster: {listen: 0.0.0.0:6222, routes: [nats-route://a:6222], user: r}\n", "bad.yaml:2: bus.cluster.password: is empty"},
		{"route password without user", "bus:\n  cluster: {listen: 0.0.0.0:6222, routes: [nats-route://a:6222], password: hunter22}\n", "bus.cluster.password: is set without bus.cluster.user"},
		{"route user without cluster", "bus:\n  cluster:\n    user: r\n    password: hunter22\n", "bad.yaml:3: bus.cluster.user: is set without bus.cluster.listen"},
		{"route tls without cert", "bus:\n  cluster:\n    listen: 0.0.0.0:6222\n    routes: [nats-route://a:6222]\n    tls: {ca_file: /ca.pem}\n", "bad.yaml:5: bus.cluster.tls.cert_file: is empty"},
		{"route verify without ca", "bus:\n  cluster:\n    listen: 0.0.0.0:6222\n    routes: [nats-route://a:6222]\n    tls:\n      cert_file: /c.pem\n      key_file: /k.pem\n      verify: true\n", "bad.yaml:8: bus.cluster.tls.verify: needs ca_file"},
		{"route tls without cluster", "bus:\n  cluster:\n    tls: {cert_file: /c.pem, key_file: /k.pem}\n", "bad.yaml:3: bus.cluster.tls: is set without bus.cluster.listen"},
		{"leaf tls without listener", "bus:\n  leaf_tls: {cert_file: /c.pem, key_file: /k.pem}\n", "bad.yaml:2: bus.leaf_tls: is set without bus.leaf_listen"},
		{"leaf tls without key", "bus:\n  leaf_listen: 0.0.0.0:7422\n  leaf_tls: {cert_file: /c.pem}\n", "bus.leaf_tls.key_file: is empty"},
		{"leaf users without listener", "bus:\n  leaf_users: [{user: ams, password: hunter22}]\n", "bad.yaml:2: bus.leaf_users: is set without bus.leaf_listen"},
		{"leaf user without password", "bus:\n  leaf_listen: 0.0.0.0:7422\n  leaf_users:\n    - user: ams\n", "bad.yaml:4: bus.leaf_users[0].password: is empty"},
		{"leaf user twice", "bus:\n  leaf_listen: 0.0.0.0:7422\n  leaf_users:\n    - {user: ams, password: hunter22}\n    - {user: ams, password: hunter23}\n", "bad.yaml:5: bus.leaf_users[1].user: \"ams\" is listed twice"},
		{"leaf users with url", "bus:\n  url: nats://x:4222\n  leaf_users: [{user: ams, password: hunter22}]\n", "bus.leaf_users: is set together with bus.url"},
		{"listen users without listener", "bus:\n  listen_users: [{user: poller, password: hunter22}]\n", "bad.yaml:2: bus.listen_users: is set without bus.listen"},
		{"listen user without password", "bus:\n  listen: 0.0.0.0:4222\n  listen_users:\n    - user: poller\n", "bad.yaml:4: bus.listen_users[0].password: is empty"},
		{"listen user without name", "bus:\n  listen: 0.0.0.0:4222\n  listen_users:\n    - password: hunter22\n", "bad.yaml:4: bus.listen_users[0].user: is empty; give each client"},
		{"listen user twice", "bus:\n  listen: 0.0.0.0:4222\n  listen_users:\n    - {user: p, password: hunter22}\n    - {user: p, password: hunter23}\n", "bad.yaml:5: bus.listen_users[1].user: \"p\" is listed twice"},
		{"listen users with url", "bus:\n  url: nats://x:4222\n  listen_users: [{user: p, password: hunter22}]\n", "bus.listen_users: is set together with bus.url"},
		{"listen tls with url", "bus:\n  url: nats://x:4222\n  listen_tls: {cert_file: /c.pem, key_file: /k.pem}\n", "bus.listen_tls: is set together with bus.url"},
		{"listen tls without listener", "bus:\n  listen_tls: {cert_file: /c.pem, key_file: /k.pem}\n", "bad.yaml:2: bus.listen_tls: is set without bus.listen"},
		{"listen tls without cert", "bus:\n  listen: 0.0.0.0:4222\n  listen_tls:\n    key_file: /k.pem\n", "bad.yaml:3: bus.listen_tls.cert_file: is empty"},
		{"listen verify without ca", "bus:\n  listen: 0.0.0.0:4222\n  listen_tls:\n    cert_file: /c.pem\n    key_file: /k.pem\n    verify: true\n", "bad.yaml:6: bus.listen_tls.verify: needs ca_file"},
		{"listen users without leaf users", "bus:\n  listen: 0.0.0.0:4222\n  leaf_listen: 0.0.0.0:7422\n  listen_users: [{user: p, password: hunter22}]\n", "bad.yaml:4: bus.listen_users: is set with bus.leaf_listen but without bus.leaf_users"},
		{"edge password without user", "bus:\n  domain: e\n  leaf: {remotes: [nats-leaf://hub:7422], password: hunter22}\n", "bus.leaf.password: is set without bus.leaf.user"},
		{"edge user and creds", "bus:\n  domain: e\n  leaf:\n    remotes: [nats-leaf://hub:7422]\n    user: ams\n    password: hunter22\n    creds_file: /x.creds\n", "bad.yaml:5: bus.leaf.user: and bus.leaf.creds_file are both set"},
		{"edge tls without remotes", "bus:\n  leaf:\n    tls: {ca_file: /ca.pem}\n", "bad.yaml:3: bus.leaf.tls: is set without bus.leaf.remotes"},
		{"edge cert without key", "bus:\n  domain: e\n  leaf:\n    remotes: [nats-leaf://hub:7422]\n    tls: {cert_file: /c.pem}\n", "bus.leaf.tls.cert_file: and bus.leaf.tls.key_file go together"},
		{"linger too long", "bus:\n  linger: 5s\n", "bad.yaml:2: bus.linger: 5s is out of range"},
		{"too many partitions", "bus:\n  partitions: 500\n", "bad.yaml:2: bus.partitions: 500 is out of range; give 1 to 128"},
		{"partitioned edge", "bus:\n  domain: e\n  partitions: 3\n  leaf: {remotes: [nats-leaf://hub:7422]}\n", "bad.yaml:3: bus.partitions: an edge (bus.leaf) keeps one stream"},
		{"unknown compression", "bus:\n  compression: gzip\n", "bad.yaml:2: bus.compression: "},
		{"unknown snmp transport", "snmp:\n  transport: tcp\n", `bad.yaml:2: snmp.transport: "tcp" is not "shared" or "connected"`},
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

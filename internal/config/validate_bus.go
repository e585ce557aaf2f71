package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// validateBusEngine checks the external cluster's credentials and TLS, the
// embedded cluster, federation (domain, leaf) and the publish buffer.
func (v *validator) validateBusEngine(b *Bus) {
	kinds := 0
	for _, s := range []string{b.User, b.NKeySeedFile, b.CredsFile} {
		if s != "" {
			kinds++
		}
	}
	if kinds > 1 {
		v.errf("bus.user", "give one kind of credentials: user/password, nkey_seed_file or creds_file")
	}
	if b.Password != "" && b.User == "" {
		v.errf("bus.password", "is set without bus.user")
	}
	if (b.TLS.CertFile == "") != (b.TLS.KeyFile == "") {
		v.errf("bus.tls.cert_file", "and bus.tls.key_file go together; set both or neither")
	}
	v.atLeast("bus.connect_retry", b.ConnectRetry.D(), time.Second)
	v.atLeast("bus.publish_timeout", b.PublishTimeout.D(), 10*time.Millisecond)
	if b.Buffer.MaxMessages < 1 {
		v.errf("bus.buffer.max_messages", "%d must be at least 1", b.Buffer.MaxMessages)
	}
	if b.Buffer.MaxBytes < 1<<20 {
		v.errf("bus.buffer.max_bytes", "%d bytes is too small; give at least 1MiB", b.Buffer.MaxBytes)
	}

	if b.URL != "" {
		for key, set := range map[string]bool{
			"bus.cluster": b.Cluster.Listen != "" || len(b.Cluster.Routes) > 0, "bus.domain": b.Domain != "",
			"bus.leaf_listen": b.LeafListen != "", "bus.leaf": len(b.Leaf.Remotes) > 0,
		} {
			if set {
				v.errf(key, "is set together with bus.url; it only applies to the embedded server")
			}
		}
	}
	if (b.Cluster.Listen == "") != (len(b.Cluster.Routes) == 0) {
		v.errf("bus.cluster", "needs both listen (host:port for routes) and routes (nats-route://host:port of every server)")
	}
	if b.Cluster.Listen != "" {
		v.hostPort("bus.cluster.listen", b.Cluster.Listen)
	}
	v.urls("bus.cluster.routes", b.Cluster.Routes, "nats-route", "nats")
	if b.LeafListen != "" {
		v.hostPort("bus.leaf_listen", b.LeafListen)
	}
	v.urls("bus.leaf.remotes", b.Leaf.Remotes, "nats-leaf", "nats", "tls")
	if len(b.Leaf.Remotes) > 0 && b.Domain == "" {
		v.errf("bus.domain", "is empty; an edge with bus.leaf needs its own JetStream domain, such as edge-<site>")
	}
	for i, d := range append([]string{b.Domain}, b.SourceDomains...) {
		key := "bus.domain"
		if i > 0 {
			key = fmt.Sprintf("bus.source_domains[%d]", i-1)
		}
		if (i > 0 && d == "") || strings.ContainsAny(d, ".*> \t") {
			v.errf(key, "%q is not a domain name (letters, digits, '-' and '_')", d)
		} else if i > 0 && d == b.Domain {
			v.errf(key, "%q is this server's own domain; list the edges' domains", d)
		}
	}
}

// urls checks that every entry is a URL with one of the schemes.
func (v *validator) urls(path string, list []string, schemes ...string) {
	for i, s := range list {
		u, err := url.Parse(strings.TrimSpace(s))
		ok := err == nil && u.Host != ""
		if ok {
			ok = false
			for _, sc := range schemes {
				ok = ok || u.Scheme == sc
			}
		}
		if !ok {
			shown := s
			if strings.Contains(s, "@") {
				shown = "(with credentials, not shown)"
			}
			v.errf(fmt.Sprintf("%s[%d]", path, i), "%q is not a URL like %s://host:port", shown, schemes[0])
		}
	}
}

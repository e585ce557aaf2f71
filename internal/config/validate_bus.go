package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/websec"
	"github.com/panoptes-go/panoptes/internal/wire"
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
	v.oneOf("bus.compression", b.Compression, "zstd", "s2", "none")
	if b.Linger < 0 || b.Linger.D() > time.Second {
		v.errf("bus.linger", "%s is out of range; give 0 (off) to 1s (default 5ms)", b.Linger.D())
	}
	if b.Partitions < 0 || b.Partitions > wire.MaxPartitions {
		v.errf("bus.partitions", "%d is out of range; give 1 to %d, or leave it unset to keep the bus's", b.Partitions, wire.MaxPartitions)
	} else if b.Partitions > 1 && len(b.Leaf.Remotes) > 0 {
		v.errf("bus.partitions", "an edge (bus.leaf) keeps one stream, which the hub sources into one of its partitions; set bus.partitions on the hub")
	}
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
			"bus.leaf_users": len(b.LeafUsers) > 0, "bus.leaf_tls": b.LeafTLS != (BusServerTLS{}),
			"bus.listen_users": len(b.ListenUsers) > 0, "bus.listen_tls": b.ListenTLS != (BusServerTLS{}),
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
	v.validateBusSecurity(b)
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

// validateBusSecurity checks authorization and TLS of the client listener,
// of routes, of the leaf listener (hub) and of leaf remotes (edge).
func (v *validator) validateBusSecurity(b *Bus) {
	v.serverTLS("bus.listen_tls", b.ListenTLS, b.Listen != "", "bus.listen")
	v.users("bus.listen_users", b.ListenUsers, "give each client (a poller process, panoptes status) a user name")
	if len(b.ListenUsers) > 0 && b.Listen == "" {
		v.errf("bus.listen_users", "is set without bus.listen; it authorizes other processes on the embedded server's client listener")
	}
	if len(b.ListenUsers) > 0 && b.LeafListen != "" && len(b.LeafUsers) == 0 {
		v.errf("bus.listen_users", "is set with bus.leaf_listen but without bus.leaf_users; set bus.leaf_users too (without them NATS would check edges against listen_users)")
	}
	clustered := b.Cluster.Listen != "" || len(b.Cluster.Routes) > 0
	if b.Cluster.User != "" && b.Cluster.Password == "" {
		v.errf("bus.cluster.password", "is empty; routes with bus.cluster.user need a password (the same on every server)")
	}
	if b.Cluster.Password != "" && b.Cluster.User == "" {
		v.errf("bus.cluster.password", "is set without bus.cluster.user")
	}
	if !clustered && (b.Cluster.User != "" || b.Cluster.Password != "") {
		v.errf("bus.cluster.user", "is set without bus.cluster.listen and routes; it authorizes routes between clustered servers")
	}
	v.serverTLS("bus.cluster.tls", b.Cluster.TLS, clustered, "bus.cluster.listen and routes")
	v.serverTLS("bus.leaf_tls", b.LeafTLS, b.LeafListen != "", "bus.leaf_listen")

	v.users("bus.leaf_users", b.LeafUsers, "give each edge site a user name")

	// No open door by accident: beyond loopback a listener needs
	// authentication, or an explicit insecure key.
	v.openDoor("bus.listen", b.Listen, b.URL == "" && len(b.ListenUsers) == 0 && !b.ListenTLS.Verify && !b.ListenInsecure,
		"bus.listen_users (a user and password per client process) or bus.listen_tls with verify: true (mutual TLS)", "bus.listen_insecure")
	v.openDoor("bus.leaf_listen", b.LeafListen, len(b.LeafUsers) == 0 && !b.LeafTLS.Verify && !b.LeafListenInsecure,
		"bus.leaf_users (a user and password per edge site) or bus.leaf_tls with verify: true (mutual TLS)", "bus.leaf_listen_insecure")
	v.openDoor("bus.cluster.listen", b.Cluster.Listen, b.Cluster.User == "" && !b.Cluster.TLS.Verify && !b.Cluster.Insecure,
		"bus.cluster.user and bus.cluster.password (the same on every server) or bus.cluster.tls with verify: true (mutual TLS)", "bus.cluster.insecure")
	if len(b.LeafUsers) > 0 && b.LeafListen == "" {
		v.errf("bus.leaf_users", "is set without bus.leaf_listen; it authorizes edges on the hub's leaf listener")
	}

	remotes := len(b.Leaf.Remotes) > 0
	if b.Leaf.User != "" && b.Leaf.Password == "" {
		v.errf("bus.leaf.password", "is empty; bus.leaf.user needs the password the hub lists in bus.leaf_users")
	}
	if b.Leaf.Password != "" && b.Leaf.User == "" {
		v.errf("bus.leaf.password", "is set without bus.leaf.user")
	}
	if b.Leaf.User != "" && b.Leaf.CredsFile != "" {
		v.errf("bus.leaf.user", "and bus.leaf.creds_file are both set; give one kind of credentials")
	}
	if !remotes {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"bus.leaf.user", b.Leaf.User != ""}, {"bus.leaf.creds_file", b.Leaf.CredsFile != ""}, {"bus.leaf.tls", b.Leaf.TLS != (BusTLS{})},
		} {
			if f.set {
				v.errf(f.key, "is set without bus.leaf.remotes; it is for the edge's link to the hub")
			}
		}
	}
	if (b.Leaf.TLS.CertFile == "") != (b.Leaf.TLS.KeyFile == "") {
		v.errf("bus.leaf.tls.cert_file", "and bus.leaf.tls.key_file go together; set both or neither")
	}
}

// users checks a listener's user list: names set and unique, passwords set.
func (v *validator) users(path string, list []BusUser, hint string) {
	seen := map[string]bool{}
	for i, u := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		if strings.TrimSpace(u.User) == "" {
			v.errf(p+".user", "is empty; %s", hint)
		} else if seen[u.User] {
			v.errf(p+".user", "%q is listed twice", u.User)
		}
		seen[u.User] = true
		if u.Password == "" {
			v.errf(p+".password", "is empty; set it (from the environment: ${VAR})")
		}
	}
}

// serverTLS checks a listener's TLS: this server's certificate, and a CA
// to verify peers with.
func (v *validator) serverTLS(path string, t BusServerTLS, listening bool, needs string) {
	if t == (BusServerTLS{}) {
		return
	}
	if !listening {
		v.errf(path, "is set without %s", needs)
		return
	}
	if t.CertFile == "" {
		v.errf(path+".cert_file", "is empty; TLS on this listener needs this server's certificate (and key_file)")
	}
	if t.KeyFile == "" {
		v.errf(path+".key_file", "is empty; TLS on this listener needs the key of cert_file")
	}
	if t.Verify && t.CAFile == "" {
		v.errf(path+".verify", "needs ca_file: the CA that signed the peers' certificates")
	}
}

// urls checks that every entry is a URL with one of the schemes.
func (v *validator) urls(path string, list []string, schemes ...string) {
	for i, s := range list {
		if _, ok := wire.ParseURL(s, schemes...); !ok {
			shown := s
			if strings.Contains(s, "@") {
				shown = "(with credentials, not shown)"
			}
			v.errf(fmt.Sprintf("%s[%d]", path, i), "%q is not a URL like %s://host:port", shown, schemes[0])
		}
	}
}

// openDoor reports a listener bound beyond loopback without
// authentication (open), naming the keys that close it.
func (v *validator) openDoor(key, listen string, open bool, set, insecureKey string) {
	if listen == "" || !open || websec.Loopback(listen) {
		return
	}
	v.errf(key, "%q is reachable from other hosts without authentication: set %s, or bind to 127.0.0.1; or set %s: true to leave it open on purpose", listen, set, insecureKey)
}

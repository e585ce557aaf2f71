package bus

import "github.com/panoptes-go/panoptes/internal/config"

// FromConfig maps the bus section of the config (validated) to Options;
// the caller adds Name, Logger and Registerer.
func FromConfig(c config.Bus, dataDir string) Options {
	return Options{
		URL: c.URL, DataDir: dataDir, Listen: c.Listen,
		ListenUsers: users(c.ListenUsers), ListenTLS: serverTLS(c.ListenTLS),
		MaxAge: c.MaxAge.D(), MaxBytes: int64(c.MaxBytes), Replicas: c.Replicas, Partitions: c.Partitions,
		User: c.User, Password: c.Password, NKeySeedFile: c.NKeySeedFile, CredsFile: c.CredsFile,
		TLS:          clientTLS(c.TLS),
		ConnectRetry: c.ConnectRetry.D(),
		Cluster: Cluster{
			Name: c.Cluster.Name, Listen: c.Cluster.Listen, Routes: c.Cluster.Routes,
			User: c.Cluster.User, Password: c.Cluster.Password, TLS: serverTLS(c.Cluster.TLS),
		},
		Domain:        c.Domain,
		LeafListen:    c.LeafListen,
		LeafAdvertise: c.LeafAdvertise,
		LeafUsers:     users(c.LeafUsers),
		LeafTLS:       serverTLS(c.LeafTLS),
		Leaf: Leaf{
			Remotes: c.Leaf.Remotes, CredsFile: c.Leaf.CredsFile,
			User: c.Leaf.User, Password: c.Leaf.Password, TLS: clientTLS(c.Leaf.TLS),
		},
		SourceDomains: c.SourceDomains,
		Buffer: Buffer{
			MaxMessages: c.Buffer.MaxMessages, MaxBytes: int64(c.Buffer.MaxBytes), NoSpill: c.Buffer.NoSpill,
		},
		PublishTimeout: c.PublishTimeout.D(),
		Compression:    c.Compression,
		Linger:         c.Linger.D(),
	}
}

func users(list []config.BusUser) []User {
	var out []User
	for _, u := range list {
		out = append(out, User{User: u.User, Password: u.Password})
	}
	return out
}

func clientTLS(t config.BusTLS) TLS {
	return TLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, InsecureSkipVerify: t.InsecureSkipVerify}
}

func serverTLS(t config.BusServerTLS) ServerTLS {
	return ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile, Verify: t.Verify}
}

// ListenClient is how a tool run with a node's config (panoptes status)
// reaches that node's own client listener at url, without the node's
// client settings having to be written twice: it logs in with bus.user
// and bus.password when set, else as the first of bus.listen_users. When
// the listener has bus.listen_tls it uses bus.tls when set, else the
// listener's own files: ca_file to verify the node (it signs the clients'
// certificates, usually the node's too) and, when the listener verifies
// clients, the node's certificate as the client's. Without listen_tls, no
// TLS (bus.tls may be an edge's TLS to the hub).
func ListenClient(c config.Bus, url string) Options {
	opts := Options{URL: url, ConnectRetry: c.ConnectRetry.D()}
	switch {
	case c.User != "":
		opts.User, opts.Password = c.User, c.Password
	case len(c.ListenUsers) > 0:
		opts.User, opts.Password = c.ListenUsers[0].User, c.ListenUsers[0].Password
	}
	if c.ListenTLS == (config.BusServerTLS{}) {
		return opts
	}
	opts.TLS = clientTLS(c.TLS)
	if !opts.TLS.enabled() {
		opts.TLS.CAFile = c.ListenTLS.CAFile
		if c.ListenTLS.Verify {
			opts.TLS.CertFile, opts.TLS.KeyFile = c.ListenTLS.CertFile, c.ListenTLS.KeyFile
		}
	}
	return opts
}

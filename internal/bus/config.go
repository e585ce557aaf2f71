package bus

import "github.com/panoptes-go/panoptes/internal/config"

// FromConfig maps the bus section of the config (validated) to Options;
// the caller adds Name, Logger and Registerer.
func FromConfig(c config.Bus, dataDir string) Options {
	var leafUsers []User
	for _, u := range c.LeafUsers {
		leafUsers = append(leafUsers, User{User: u.User, Password: u.Password})
	}
	return Options{
		URL: c.URL, DataDir: dataDir, Listen: c.Listen,
		MaxAge: c.MaxAge.D(), MaxBytes: int64(c.MaxBytes), Replicas: c.Replicas,
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
		LeafUsers:     leafUsers,
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
	}
}

func clientTLS(t config.BusTLS) TLS {
	return TLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, InsecureSkipVerify: t.InsecureSkipVerify}
}

func serverTLS(t config.BusServerTLS) ServerTLS {
	return ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile, Verify: t.Verify}
}

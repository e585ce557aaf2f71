package bus

import "github.com/panoptes-go/panoptes/internal/config"

// FromConfig maps the bus section of the config (validated) to Options;
// the caller adds Name, Logger and Registerer.
func FromConfig(c config.Bus, dataDir string) Options {
	return Options{
		URL: c.URL, DataDir: dataDir, Listen: c.Listen,
		MaxAge: c.MaxAge.D(), MaxBytes: int64(c.MaxBytes), Replicas: c.Replicas,
		User: c.User, Password: c.Password, NKeySeedFile: c.NKeySeedFile, CredsFile: c.CredsFile,
		TLS: TLS{
			CAFile: c.TLS.CAFile, CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile,
			InsecureSkipVerify: c.TLS.InsecureSkipVerify,
		},
		ConnectRetry:  c.ConnectRetry.D(),
		Cluster:       Cluster{Name: c.Cluster.Name, Listen: c.Cluster.Listen, Routes: c.Cluster.Routes},
		Domain:        c.Domain,
		LeafListen:    c.LeafListen,
		LeafAdvertise: c.LeafAdvertise,
		Leaf:          Leaf{Remotes: c.Leaf.Remotes, CredsFile: c.Leaf.CredsFile},
		SourceDomains: c.SourceDomains,
		Buffer: Buffer{
			MaxMessages: c.Buffer.MaxMessages, MaxBytes: int64(c.Buffer.MaxBytes), NoSpill: c.Buffer.NoSpill,
		},
		PublishTimeout: c.PublishTimeout.D(),
	}
}

package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// Options configure Open.
type Options struct {
	// URL of external NATS servers (comma-separated); "" starts an embedded server.
	URL string
	// DataDir holds the embedded server's JetStream store (state survives
	// restarts) and the publish buffer's spill file.
	DataDir string
	// Listen is host:port where the embedded server accepts other processes;
	// "" keeps it in-process only (no TCP port). Port 0 picks a free port.
	Listen string
	// ListenUsers, when set, are the only credentials the client listener
	// (Listen) accepts: other processes' pollers and consumers, panoptes
	// status. This process's own connection is in-process and needs none.
	ListenUsers []User
	// ListenTLS makes the client listener require TLS (CertFile and
	// KeyFile); with Verify, clients must present a certificate signed by
	// CAFile.
	ListenTLS ServerTLS
	// Metrics stream retention and replicas (defaults 24h, 1 GiB, 1).
	// MaxBytes is the whole bus's: partitions share it.
	MaxAge   time.Duration
	MaxBytes int64
	Replicas int
	// Partitions is how many streams the metrics are cut into (by
	// resource; see wire.Layout). 0 keeps what the bus has (one stream on a
	// new bus); another count than the bus's creates a new generation of
	// streams, which consumers read after the old one.
	Partitions int
	// LayoutTick is how often the bus reads the metrics streams to follow
	// a new generation (default 2s); RetireAfter how old a new generation
	// is before this bus retires the older ones (default 10s: every
	// publisher follows it by then). Tests shorten them.
	LayoutTick, RetireAfter time.Duration
	// Name is the client connection name shown by the server.
	Name string

	// Credentials for an external URL: at most one of User/Password,
	// NKeySeedFile and CredsFile.
	User, Password string
	NKeySeedFile   string
	CredsFile      string
	// TLS for an external URL (and for leaf remotes).
	TLS TLS
	// ConnectRetry bounds how long Open keeps retrying an external cluster
	// (or a cluster of embedded servers) that is not up yet (default 30s).
	ConnectRetry time.Duration

	// Cluster joins the embedded server to other embedded servers (routes).
	Cluster Cluster
	// Domain is the embedded server's JetStream domain: required on an
	// edge site (Leaf.Remotes), recommended on the hub ("hub").
	Domain string
	// LeafListen is host:port where a hub's embedded server accepts edge
	// sites' leaf connections.
	LeafListen string
	// LeafAdvertise is the host:port edges should use for this leaf
	// listener when it differs from LeafListen (NAT, load balancer): hub
	// servers gossip their leaf addresses to edges.
	LeafAdvertise string
	// LeafUsers, when set, are the only credentials the leaf listener
	// accepts (one per edge site, so that one can be revoked alone).
	LeafUsers []User
	// LeafTLS makes the leaf listener require TLS (CertFile and KeyFile);
	// with Verify, edges must present a certificate signed by CAFile.
	LeafTLS ServerTLS
	// Leaf connects an edge site's embedded server to the hub.
	Leaf Leaf
	// SourceDomains lists the edge domains whose metrics streams the
	// metrics stream here sources (hub side of federation).
	SourceDomains []string

	// Buffer bounds the local publish buffer (backpressure).
	Buffer Buffer
	// PublishTimeout bounds how long PublishSet waits for acks before it
	// moves what is unacknowledged to the buffer (default 2s).
	PublishTimeout time.Duration
	// Compression of bus messages: CompressionS2 (the default, ""),
	// CompressionZstd or CompressionNone. Readers accept all three (see
	// wire.Decompress).
	Compression string
	// Linger, when positive, lets small messages (light checks' groups) of
	// concurrent PublishSets wait up to this long to be sent together as
	// one message per subject; 0 sends each set's messages alone.
	Linger time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// TLS client settings. CAFile verifies the servers; CertFile and KeyFile
// are this client's certificate (mutual TLS).
type TLS struct {
	CAFile, CertFile, KeyFile string
	// InsecureSkipVerify disables server verification (tests only).
	InsecureSkipVerify bool
}

func (t TLS) enabled() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.InsecureSkipVerify
}

// config builds the tls.Config; nil when TLS is not configured. key names
// the config section in errors.
func (t TLS) config(key string) (*tls.Config, error) {
	if !t.enabled() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in for tests
	if t.CAFile != "" {
		pool, err := loadCA(key, t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%s: cert_file and key_file go together; set both or neither", key)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: client certificate: %w", key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ServerTLS is the server side of TLS on a listener of the embedded
// server (clients, routes, leaf connections).
type ServerTLS struct {
	// CertFile and KeyFile are this server's certificate and key. On routes
	// the server also presents them when it dials the others.
	CertFile, KeyFile string
	// CAFile verifies the peers' certificates: the other servers' on routes,
	// edges' or clients' certificates on the leaf or client listener (with
	// Verify).
	CAFile string
	// Verify requires every peer that connects to present a certificate
	// signed by CAFile (mutual TLS).
	Verify bool
}

func (t ServerTLS) enabled() bool {
	return t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" || t.Verify
}

// config builds the tls.Config used both to accept (ClientCAs) and, on
// routes, to dial (RootCAs); nil when not configured. key names the config
// section in errors.
func (t ServerTLS) config(key string) (*tls.Config, error) {
	if !t.enabled() {
		return nil, nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, fmt.Errorf("%s: cert_file and key_file are required (this server's certificate)", key)
	}
	if t.Verify && t.CAFile == "" {
		return nil, fmt.Errorf("%s: verify needs ca_file (the CA that signed the peers' certificates)", key)
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: certificate: %w", key, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.CAFile != "" {
		pool, err := loadCA(key, t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.RootCAs = pool, pool
	}
	if t.Verify {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

func loadCA(key, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s.ca_file: %w", key, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s.ca_file %s holds no PEM certificate", key, file)
	}
	return pool, nil
}

// User is a user name and password accepted on a listener. Its String
// hides the password.
type User struct {
	User, Password string
}

func (u User) String() string { return u.User + ":***" }

// Cluster of embedded servers: each process lists the others' route URLs.
type Cluster struct {
	Name   string   // same on every server of the cluster
	Listen string   // host:port for routes, such as 0.0.0.0:6222
	Routes []string // nats-route://host:6222 of every server (itself may be listed)
	// User and Password, the same on every server, authorize routes: a
	// server accepts routes only with them and dials the others with them.
	User, Password string
	// TLS on routes: every server needs a certificate the others verify
	// with CAFile (Verify also makes them check each other's).
	TLS ServerTLS
}

func (c Cluster) enabled() bool { return c.Listen != "" || len(c.Routes) > 0 }

// Leaf is an edge site's link to the hub.
type Leaf struct {
	Remotes []string // nats-leaf://hub1:7422, one per hub server
	// Credentials for the hub's leaf listener, if it needs them: a creds
	// file (a hub with JWT accounts) or a user and password (LeafUsers).
	CredsFile      string
	User, Password string
	// TLS to the hub (tls:// remotes, or a hub that requires it); when
	// empty, Options.TLS is used.
	TLS TLS
}

// Buffer bounds the publish buffer.
type Buffer struct {
	MaxMessages int   // default 100000
	MaxBytes    int64 // default 64 MiB
	// NoSpill keeps the buffer in memory only: by default what is left at
	// Close is written under DataDir and published after the next Open.
	NoSpill bool
}

// Defaults for Options fields left zero.
const (
	DefaultMaxAge            = 24 * time.Hour
	DefaultMaxBytes          = 1 << 30
	DefaultReplicas          = 1
	DefaultConnectRetry      = 30 * time.Second
	DefaultPublishTimeout    = 2 * time.Second
	DefaultBufferMaxMessages = 100000
	DefaultBufferMaxBytes    = 64 << 20
	defaultClusterName       = "panoptes"
)

func (o *Options) applyDefaults() error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&o.MaxAge, DefaultMaxAge)
	setDefault(&o.MaxBytes, DefaultMaxBytes)
	setDefault(&o.Replicas, DefaultReplicas)
	setDefault(&o.ConnectRetry, DefaultConnectRetry)
	setDefault(&o.PublishTimeout, DefaultPublishTimeout)
	setDefault(&o.LayoutTick, DefaultLayoutTick)
	setDefault(&o.RetireAfter, DefaultRetireAfter)
	setDefault(&o.Buffer.MaxMessages, DefaultBufferMaxMessages)
	setDefault(&o.Buffer.MaxBytes, DefaultBufferMaxBytes)
	if o.Cluster.enabled() && o.Cluster.Name == "" {
		o.Cluster.Name = defaultClusterName
	}
	embedded := o.URL == ""
	if err := o.checkCredentials(); err != nil {
		return err
	}
	switch {
	case o.MaxAge < 0:
		return fmt.Errorf("bus: max_age %s is negative; use a positive duration such as 24h", o.MaxAge)
	case o.MaxBytes < 0:
		return fmt.Errorf("bus: max_bytes %d is negative; use a positive size such as 1GiB", o.MaxBytes)
	case o.Replicas < 1 || o.Replicas > 5:
		return fmt.Errorf("bus: replicas %d is out of range; JetStream allows 1 to 5", o.Replicas)
	case o.Buffer.MaxMessages < 0 || o.Buffer.MaxBytes < 0:
		return errors.New("bus: buffer limits are negative; use positive sizes")
	case o.Compression != "" && o.Compression != CompressionZstd && o.Compression != CompressionS2 && o.Compression != CompressionNone:
		return fmt.Errorf("bus: compression %q is not one of zstd, s2, none", o.Compression)
	case embedded && strings.TrimSpace(o.DataDir) == "":
		return errors.New("bus: data_dir is empty; the embedded NATS server needs a directory for its state (or set bus.url to use an external server)")
	case embedded && o.Replicas > 1 && len(o.Cluster.Routes) == 0:
		return fmt.Errorf("bus: replicas %d needs a NATS cluster; the embedded single server supports 1 (set bus.cluster.routes to cluster embedded servers, or bus.url)", o.Replicas)
	case !embedded && (o.Listen != "" || len(o.ListenUsers) > 0 || o.ListenTLS.enabled() || o.Cluster.enabled() || o.LeafListen != "" || o.LeafAdvertise != "" || len(o.LeafUsers) > 0 || o.LeafTLS.enabled() || len(o.Leaf.Remotes) > 0 || o.Domain != ""):
		return errors.New("bus: listen, listen_users, listen_tls, cluster, leaf, leaf_listen and domain are for the embedded server; leave them empty when bus.url is set")
	case o.Partitions < 0 || o.Partitions > wire.MaxPartitions:
		return fmt.Errorf("bus: partitions %d is out of range; give 1 to %d (or leave it unset to keep the bus's)", o.Partitions, wire.MaxPartitions)
	case o.Partitions > 1 && len(o.Leaf.Remotes) > 0:
		return fmt.Errorf("bus: partitions %d on an edge (leaf remotes): an edge keeps one stream, which the hub sources into one of its partitions; set partitions on the hub", o.Partitions)
	case len(o.Leaf.Remotes) > 0 && o.Domain == "":
		return errors.New("bus: leaf remotes need a JetStream domain (bus.domain, such as edge-<site>) so the edge keeps its own streams")
	case o.Cluster.enabled() && (o.Cluster.Listen == "" || len(o.Cluster.Routes) == 0):
		return errors.New("bus: cluster needs both listen (host:port for routes) and routes (nats-route://host:port of the other servers)")
	case (o.Cluster.User == "") != (o.Cluster.Password == ""):
		return errors.New("bus: cluster user and password go together; set both (the same on every server) or neither")
	case (o.Cluster.User != "" || o.Cluster.TLS.enabled()) && !o.Cluster.enabled():
		return errors.New("bus: cluster user, password and tls need a cluster (listen and routes)")
	case (len(o.LeafUsers) > 0 || o.LeafTLS.enabled()) && o.LeafListen == "":
		return errors.New("bus: leaf_users and leaf_tls are for the leaf listener; set leaf_listen")
	case (len(o.ListenUsers) > 0 || o.ListenTLS.enabled()) && o.Listen == "":
		return errors.New("bus: listen_users and listen_tls are for the client listener; set listen")
	case len(o.ListenUsers) > 0 && o.LeafListen != "" && len(o.LeafUsers) == 0:
		return errors.New(listenUsersNeedLeafUsers)
	case (o.Leaf.User == "") != (o.Leaf.Password == ""):
		return errors.New("bus: leaf user and password go together; set both or neither")
	case o.Leaf.User != "" && o.Leaf.CredsFile != "":
		return errors.New("bus: give the leaf one kind of credentials: user/password or creds_file")
	case (o.Leaf.User != "" || o.Leaf.CredsFile != "" || o.Leaf.TLS.enabled()) && len(o.Leaf.Remotes) == 0:
		return errors.New("bus: leaf credentials and tls need leaf remotes")
	}
	for i, u := range o.LeafUsers {
		if u.User == "" || u.Password == "" {
			return fmt.Errorf("bus: leaf_users[%d]: user and password are both required", i)
		}
	}
	for i, u := range o.ListenUsers {
		if u.User == "" || u.Password == "" {
			return fmt.Errorf("bus: listen_users[%d]: user and password are both required", i)
		}
	}
	for _, d := range append([]string{o.Domain}, o.SourceDomains...) {
		if d != "" && wire.Token(d) != d {
			return fmt.Errorf("bus: domain %q may not contain '.', '*', '>' or spaces", d)
		}
	}
	for _, d := range o.SourceDomains {
		if d == "" || d == o.Domain {
			return fmt.Errorf("bus: source domain %q must be an edge's domain, not empty nor this server's", d)
		}
	}
	return nil
}

// listenUsersNeedLeafUsers: a NATS leaf listener without users of its own
// checks edges against the client users, which would silently turn the
// listen_users into leaf credentials (and refuse edges that had none).
const listenUsersNeedLeafUsers = "bus: listen_users with leaf_listen needs leaf_users too: without them the leaf listener would take edges' credentials from listen_users"

// checkCredentials: at most one kind of client credentials.
func (o *Options) checkCredentials() error {
	creds := 0
	for _, s := range []string{o.User, o.NKeySeedFile, o.CredsFile} {
		if s != "" {
			creds++
		}
	}
	switch {
	case creds > 1:
		return errors.New("bus: give one kind of credentials: user/password, nkey_seed_file or creds_file")
	case o.Password != "" && o.User == "":
		return errors.New("bus: password is set without user")
	}
	return nil
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// clientOptions are the credentials and TLS for an external URL.
func (o *Options) clientOptions() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("bus: nkey_seed_file: %w", err)
		}
		opts = append(opts, opt)
	case o.CredsFile != "":
		if _, err := os.Stat(o.CredsFile); err != nil {
			return nil, fmt.Errorf("bus: creds_file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	tc, err := o.TLS.config("bus.tls")
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// parseURLs parses a list of server URLs with the expected schemes.
func parseURLs(key string, list []string, schemes ...string) ([]*url.URL, error) {
	var out []*url.URL
	for _, s := range list {
		u, ok := wire.ParseURL(s, schemes...)
		if !ok {
			return nil, fmt.Errorf("bus: %s %q is not a URL like %s://host:port", key, redactURLs(s), schemes[0])
		}
		out = append(out, u)
	}
	return out, nil
}

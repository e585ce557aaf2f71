// Package config is the panoptes YAML configuration: its types, defaults,
// strict decoding with file:line:key errors, ${VAR} expansion and validation.
package config

import (
	"strconv"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/websec"
)

// Config is one node's configuration file.
type Config struct {
	// Site is the node's site: resources without a site get it, and the
	// poller polls only resources of this site.
	Site      string    `yaml:"site"`
	DataDir   string    `yaml:"data_dir"`
	HTTP      HTTP      `yaml:"http"`
	Bus       Bus       `yaml:"bus"`
	Discovery Discovery `yaml:"discovery"`
	SNMP      SNMP      `yaml:"snmp"`
	Polling   Polling   `yaml:"polling"`
	Sinks     []Sink    `yaml:"sinks"`
	// Inputs are the streaming inputs (long-lived subscriptions, such as
	// gNMI), owned per resource like checks.
	Inputs []Input `yaml:"inputs"`
	// Apps are bus consumers with a job of their own (topology,
	// monitors), run by the nodes with their role.
	Apps []App `yaml:"apps"`
	Log  Log   `yaml:"log"`
	// Roles this process runs (see AllRoles); default all of them.
	Roles   []string `yaml:"roles"`
	Cluster Cluster  `yaml:"cluster"`
	// Rates and Enrichment configure the shared state behind plugins'
	// `rates` and the interface plugin's `enrichment` option.
	Rates      Rates      `yaml:"rates"`
	Enrichment Enrichment `yaml:"enrichment"`
	Runtime    Runtime    `yaml:"runtime"`

	doc *plugin.Doc // the parsed file: its name and the line of every key, for messages
}

// Cluster is this node's membership in its site's group of nodes.
type Cluster struct {
	// NodeID names this node in the membership bucket; empty uses the id
	// kept in data_dir/node_id (created on first start).
	NodeID string `yaml:"node_id"`
	// Heartbeat is how often the node refreshes its membership; a node
	// silent for three heartbeats is gone and its resources move.
	Heartbeat Duration `yaml:"heartbeat"`
	// Capacity weighs this node's share of its site's resources (1 = even).
	Capacity int `yaml:"capacity"`
}

// HTTP is the self-monitoring endpoint.
type HTTP struct {
	// Listen is host:port for /healthz, /readyz and /metrics; "" disables it.
	Listen string `yaml:"listen"`
	// TLS, mutual TLS and basic auth (tls_server_config, basic_auth_users,
	// insecure), as in Prometheus' web configuration. Beyond loopback one
	// of them, or insecure: true, is required.
	websec.Config `yaml:",inline"`
}

// Log chooses the log level and format.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Bus is the NATS JetStream engine: embedded (URL empty) or external.
type Bus struct {
	// URL of an external NATS server or cluster (comma-separated); empty runs
	// the embedded server with its state under data_dir.
	URL string `yaml:"url"`
	// Listen exposes the embedded server to other processes (host:port);
	// empty keeps it in-process only.
	Listen string `yaml:"listen"`
	// ListenUsers, when set, are the only credentials the client listener
	// accepts (other processes' bus.user/bus.password); ListenTLS makes it
	// require TLS.
	ListenUsers []BusUser    `yaml:"listen_users"`
	ListenTLS   BusServerTLS `yaml:"listen_tls"`
	// ListenInsecure allows bus.listen beyond loopback without users or
	// mutual TLS: anyone who reaches it can read and write the bus.
	ListenInsecure bool `yaml:"listen_insecure"`
	// Stream retention for the metrics stream.
	MaxAge   Duration `yaml:"max_age"`
	MaxBytes ByteSize `yaml:"max_bytes"`
	// Replicas for streams and buckets (1 for a single node).
	Replicas int `yaml:"replicas"`
	// Partitions cuts the metrics into that many streams, by resource, so
	// that the bus grows with the NATS cluster (about 3 per server); unset
	// keeps the bus's (one stream on a new bus). See docs/TOPOLOGY.md.
	Partitions int `yaml:"partitions"`

	// Credentials for bus.url: user/password, an NKey seed file or a creds
	// file (one kind).
	User         string `yaml:"user"`
	Password     string `yaml:"password" secret:"true"`
	NKeySeedFile string `yaml:"nkey_seed_file"`
	CredsFile    string `yaml:"creds_file"`
	// TLS to bus.url (and to the hub for leaf remotes without bus.leaf.tls).
	TLS BusTLS `yaml:"tls"`
	// ConnectRetry bounds how long startup waits for the NATS cluster.
	ConnectRetry Duration `yaml:"connect_retry"`
	// Cluster joins embedded servers of several panoptes processes.
	Cluster BusCluster `yaml:"cluster"`
	// Domain is the embedded server's JetStream domain (edge-<site> on an
	// edge, hub on the hub).
	Domain string `yaml:"domain"`
	// LeafListen (hub) accepts edge sites' leaf connections; LeafAdvertise
	// is the address edges should use when it differs.
	LeafListen    string `yaml:"leaf_listen"`
	LeafAdvertise string `yaml:"leaf_advertise"`
	// LeafUsers (hub), when set, are the only credentials the leaf
	// listener accepts, one per edge site; LeafTLS makes it require TLS.
	LeafUsers []BusUser    `yaml:"leaf_users"`
	LeafTLS   BusServerTLS `yaml:"leaf_tls"`
	// LeafListenInsecure allows bus.leaf_listen beyond loopback without
	// leaf_users or mutual TLS.
	LeafListenInsecure bool `yaml:"leaf_listen_insecure"`
	// Leaf (edge) connects this site's embedded server to the hub.
	Leaf BusLeaf `yaml:"leaf"`
	// SourceDomains (hub) lists the edge domains whose metrics the hub's
	// stream collects.
	SourceDomains []string `yaml:"source_domains"`
	// Buffer bounds what a node keeps while the bus does not take publishes.
	Buffer BusBuffer `yaml:"buffer"`
	// PublishTimeout bounds the wait for acks before buffering.
	PublishTimeout Duration `yaml:"publish_timeout"`
	// Compression of bus messages: s2 (default), zstd (half the bytes
	// for more CPU; versions before 2026-12-08 cannot read it) or none
	// (plain JSON Lines, for programs that read the bus and cannot
	// decompress).
	Compression string `yaml:"compression"`
	// Linger lets small messages of concurrent checks (light checks)
	// wait this long to go as one bus message per subject; 0 disables.
	Linger Duration `yaml:"linger"`
}

// BusTLS is the client side of TLS to NATS.
type BusTLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // tests only
}

// BusServerTLS is the server side of TLS on a listener of the embedded
// server (clients, routes, leaf connections).
type BusServerTLS struct {
	CertFile string `yaml:"cert_file"` // this server's certificate (also shown when dialing routes)
	KeyFile  string `yaml:"key_file"`
	CAFile   string `yaml:"ca_file"` // verifies the peers' certificates
	// Verify requires a certificate signed by ca_file from every peer
	// that connects (mutual TLS).
	Verify bool `yaml:"verify"`
}

// BusUser is a user name and password a listener accepts.
type BusUser struct {
	User     string `yaml:"user"`
	Password string `yaml:"password" secret:"true"`
}

// BusCluster clusters embedded servers through routes.
type BusCluster struct {
	Name   string   `yaml:"name"`
	Listen string   `yaml:"listen"` // host:port for routes, such as 0.0.0.0:6222
	Routes []string `yaml:"routes"` // nats-route://host:6222 of every server
	// User and Password (the same on every server) authorize routes.
	User     string       `yaml:"user"`
	Password string       `yaml:"password" secret:"true"`
	TLS      BusServerTLS `yaml:"tls"`
	// Insecure allows routes beyond loopback without user/password or
	// mutual TLS.
	Insecure bool `yaml:"insecure"`
}

// BusLeaf is an edge site's link to the hub.
type BusLeaf struct {
	Remotes   []string `yaml:"remotes"` // nats-leaf://hub1:7422, ...
	CredsFile string   `yaml:"creds_file"`
	// User and Password for a hub whose leaf listener has leaf_users.
	User     string `yaml:"user"`
	Password string `yaml:"password" secret:"true"`
	// TLS to the hub; when empty, bus.tls applies.
	TLS BusTLS `yaml:"tls"`
}

// BusBuffer bounds the local publish buffer.
type BusBuffer struct {
	MaxMessages int      `yaml:"max_messages"`
	MaxBytes    ByteSize `yaml:"max_bytes"`
	// NoSpill keeps it in memory only; by default what is left at shutdown
	// is written under data_dir and published after the next start.
	NoSpill bool `yaml:"no_spill"`
}

// Discovery lists the discovery sources and the defaults they fill in.
type Discovery struct {
	// Interval between discovery runs of every source.
	Interval Duration `yaml:"interval"`
	// Defaults fill resource fields a source leaves empty.
	Defaults ResourceDefaults `yaml:"defaults"`
	Sources  []Source         `yaml:"sources"`
}

// ResourceDefaults fill the resource fields a discovery source leaves empty.
type ResourceDefaults struct {
	Site     string `yaml:"site"`
	Class    string `yaml:"class"`
	Subclass string `yaml:"subclass"`
	Type     string `yaml:"type"`
}

// Source is one discovery plugin instance: the keys the discovery manager
// uses; every other key of the instance is the plugin's own (Options).
type Source struct {
	Name   string `yaml:"name"`
	Plugin string `yaml:"plugin"` // a registered discovery source, e.g. csv
	// MinValidRatio: a file whose share of valid rows is below this keeps the
	// previous inventory (0..1).
	MinValidRatio float64 `yaml:"min_valid_ratio"`
	// Classify probes each discovered device over SNMP (sysObjectID,
	// sysDescr, sysName) and adds vendor, model, os and os_version metadata.
	Classify bool `yaml:"classify"`
	// ClassifyTTL: a classified device is probed again after this long
	// (default 24h); a failed probe is retried on every run.
	ClassifyTTL Duration `yaml:"classify_ttl"`
	// Options are the plugin's own keys (path, command, url, ...), which
	// the plugin decodes and checks.
	Options plugin.Block `yaml:",inline"`
}

// SNMP holds the defaults applied to every device and the named credentials.
type SNMP struct {
	Port           int      `yaml:"port"`
	Timeout        Duration `yaml:"timeout"`
	Retries        int      `yaml:"retries"`
	MaxRepetitions int      `yaml:"max_repetitions"`
	// MaxRequestsPerDevice bounds concurrent SNMP requests to one device.
	MaxRequestsPerDevice int `yaml:"max_requests_per_device"`
	// Transport is how SNMPv1/v2c requests reach devices: "shared" (one UDP
	// socket for all devices, datagrams sent and received in batches) or
	// "connected" (a connected socket per session).
	Transport string `yaml:"transport"`
	// Credential is the name of the credential used when a resource names none.
	Credential  string                `yaml:"credential"`
	Credentials map[string]Credential `yaml:"credentials"`
}

// SNMP transports (SNMP.Transport).
const (
	SNMPTransportShared    = "shared"
	SNMPTransportConnected = "connected"
)

// Credential is one named set of SNMP credentials. Its secrets never appear
// in logs, errors, metrics or bus messages (see String).
type Credential struct {
	Version        string `yaml:"version"` // 1, 2c or 3
	Community      string `yaml:"community" secret:"true"`
	Username       string `yaml:"username"`
	SecurityLevel  string `yaml:"security_level"` // noAuthNoPriv, authNoPriv, authPriv
	AuthProtocol   string `yaml:"auth_protocol"`  // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassphrase string `yaml:"auth_passphrase" secret:"true"`
	PrivProtocol   string `yaml:"priv_protocol"` // DES, AES, AES192, AES256
	PrivPassphrase string `yaml:"priv_passphrase" secret:"true"`
	ContextName    string `yaml:"context_name"`
}

// Polling configures the scheduler and the polling plugins.
type Polling struct {
	// MaxConcurrentChecks bounds checks running at once on this node.
	MaxConcurrentChecks int      `yaml:"max_concurrent_checks"`
	Plugins             []Plugin `yaml:"plugins"`
}

// Plugin is one polling plugin instance.
type Plugin struct {
	Name     string   `yaml:"name"`
	Plugin   string   `yaml:"plugin"` // registered plugin type, e.g. interface
	Interval Duration `yaml:"interval"`
	Filter   string   `yaml:"filter"` // resource filter; empty matches all
	Timeout  Duration `yaml:"timeout"`
	// Rates names the counters that also get a per-second <counter>_rate
	// gauge: "all", "none" or a list of metric names.
	Rates any `yaml:"rates"`
	// Options are the plugin's own settings, which the plugin decodes and
	// checks.
	Options plugin.Block `yaml:"options"`
}

// Input is one streaming input instance.
type Input struct {
	Name   string `yaml:"name"`
	Plugin string `yaml:"plugin"` // a registered streaming input, e.g. gnmi
	// Interval is the groups' interval: how often unchanged rows and the
	// status group are published again.
	Interval Duration `yaml:"interval"`
	Filter   string   `yaml:"filter"` // resource filter; empty matches all
	// Rates names the counters that also get a per-second <counter>_rate
	// gauge: "all", "none" or a list of metric names.
	Rates any `yaml:"rates"`
	// Options are the input's own settings, which it decodes and checks.
	Options plugin.Block `yaml:"options"`
}

// App is one app instance: a bus consumer run by the nodes with the role
// named after its type.
type App struct {
	Name   string `yaml:"name"`
	Plugin string `yaml:"plugin"` // a registered app type, e.g. topology
	// Options are the app's own settings, which it decodes and checks.
	Options plugin.Block `yaml:"options"`
}

// Rates configures the per-series state rates are computed from.
type Rates struct {
	// FlushInterval is how often the previous samples are saved to the
	// bus (KV bucket panoptes_rate_state) so a restart continues them.
	FlushInterval Duration `yaml:"flush_interval"`
	// MaxGap: no rate across a gap longer than this many intervals.
	MaxGap int `yaml:"max_gap"`
	// StateTTL is how long saved samples live; EvictAfter drops series not
	// seen for that long from memory.
	StateTTL   Duration `yaml:"state_ttl"`
	EvictAfter Duration `yaml:"evict_after"`
}

// Runtime tunes the Go runtime's memory use and parallelism (GOMEMLIMIT,
// GOGC and GOMAXPROCS in the environment win over their keys).
type Runtime struct {
	// MemoryLimit is the soft limit of the process's memory: "auto" (the
	// default) is 90% of the cgroup's memory.max when one is set (a
	// container, a systemd MemoryMax=) and none otherwise; "off" is none;
	// a size such as 2GiB sets it. It must sit well above the live heap.
	MemoryLimit string `yaml:"memory_limit"`
	// GCPercent is the GC target (GOGC): lower trades CPU for memory.
	// 0 (unset) is 50: measured at 10,000 devices, 22.6 KB of RSS a device
	// against 28.8 at 80, for 5 % more CPU than 80 (BENCHMARKS.md).
	GCPercent int `yaml:"gc_percent"`
	// MaxProcs is GOMAXPROCS, the Ps running Go code at once: "auto" (the
	// default) runs a node using well under a core on one P, which saves
	// the idle Ps' wake-ups at low density, and gives a busy one every
	// core the runtime's default allows (the cgroup's CPU limit); a number
	// fixes it.
	MaxProcs string `yaml:"max_procs"`
}

// MemoryLimitBytes is MemoryLimit in bytes, or auto when it is "auto" or
// empty; 0 and not auto for "off". Validate checked it.
func (r Runtime) MemoryLimitBytes() (limit int64, auto bool) {
	switch r.MemoryLimit {
	case "", "auto":
		return 0, true
	case "off":
		return 0, false
	}
	n, _ := plugin.ParseByteSize(r.MemoryLimit)
	return int64(n), false
}

// FixedMaxProcs is MaxProcs as a number, or 0 for auto (or empty).
// Validate checked it.
func (r Runtime) FixedMaxProcs() int {
	n, _ := strconv.Atoi(r.MaxProcs) // 0 for auto
	return n
}

// Enrichment configures the shared cache of slow-changing device data.
type Enrichment struct {
	// Interval between collections of a device's names, aliases, speeds.
	Interval Duration `yaml:"interval"`
	// TTL of the cached data (a few intervals).
	TTL Duration `yaml:"ttl"`
	// MinInterval bounds early refreshes of a flapping device.
	MinInterval Duration `yaml:"min_interval"`
	// MaxConcurrent bounds the collections the enrichment role runs at
	// once, beside the polls.
	MaxConcurrent int `yaml:"max_concurrent"`
}

// Sink is one consumer of the metrics bus: the keys the consumer uses;
// every other key of the instance (path, influxdb, kafka, ...) is the sink
// type's own (Options).
type Sink struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // a registered sink type, e.g. file
	// Subjects filter what the sink reads; empty reads every metric.
	Subjects []string `yaml:"subjects"`
	// Batching: a batch is written when it holds BatchSize groups or when
	// BatchTimeout passed since its first group, whichever comes first.
	BatchSize    int      `yaml:"batch_size"`
	BatchTimeout Duration `yaml:"batch_timeout"`
	// MaxBackoff caps the exponential backoff between retries of a failed write.
	MaxBackoff Duration `yaml:"max_backoff"`
	// Source makes the sink read from somewhere other than the bus: one
	// key, a registered bus source (kafka), holding that source's block.
	Source map[string]plugin.Block `yaml:"source"`
	// Options are the sink type's own keys, which it decodes and checks.
	Options plugin.Block `yaml:",inline"`
}

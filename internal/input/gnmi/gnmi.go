// Package gnmi is the gNMI streaming input: for every resource it owns, a
// node keeps one STREAM subscription to the resource's gNMI target and
// publishes what the gNMI mappings (gnmimaps/, or the user's) make of it:
// the same interface, cpu, memory, environment, bgp_session and neighbor
// groups an SNMP poll gives, and a status group.
//
// The target is the resource's endpoint host on the input's port (metadata
// gnmi_port overrides it). Which node subscribes, rates and publishing are
// the streaming-input family's (internal/input); the subscription itself is
// internal/gnmi/input's Target.
package gnmi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/gnmimaps"
	gnmiclient "github.com/panoptes-go/panoptes/internal/gnmi"
	gnmiinput "github.com/panoptes-go/panoptes/internal/gnmi/input"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Name is the input's registered name.
const Name = "gnmi"

// DefaultPort is gNMI's IANA port (9339); devices often use another
// (Arista 6030, Nokia and Cisco 57400): set port or metadata gnmi_port.
const DefaultPort = 9339

// Metadata keys a resource may set.
const (
	MetaPort   = "gnmi_port"   // the target's port, over the input's
	MetaTarget = "gnmi_target" // the prefix target name (gateways)
	// MetaCredential names one of the input's credentials for the resource.
	MetaCredential = "gnmi_credential"
)

func init() { input.Register(Name, New) }

// options are the instance's `options:` block.
type options struct {
	Port   int    `yaml:"port"`
	Target string `yaml:"target"`
	// Mappings are shipped mapping names (openconfig-interfaces, ...) or
	// mapping files; default every shipped mapping.
	Mappings []string `yaml:"mappings"`
	// Groups keeps only these group types (default every group).
	Groups []string `yaml:"groups"`
	// Mode, when set, replaces every subscription's mode.
	Mode string `yaml:"mode"`
	// SampleInterval of sample and target_defined subscriptions that name
	// none (default the instance's interval).
	SampleInterval    plugin.Duration `yaml:"sample_interval"`
	HeartbeatInterval plugin.Duration `yaml:"heartbeat_interval"`
	Encoding          string          `yaml:"encoding"`
	// Flush: changed rows are published at most this often (default 1s).
	Flush plugin.Duration `yaml:"flush"`
	// Silence: a stream silent this long is down (default twice the
	// longest sample or heartbeat interval, at least 30s).
	Silence    plugin.Duration `yaml:"silence"`
	Timeout    plugin.Duration `yaml:"timeout"`
	MaxBackoff plugin.Duration `yaml:"max_backoff"`
	Username   string          `yaml:"username"`
	Password   string          `yaml:"password" secret:"true"`
	TLS        tlsOptions      `yaml:"tls"`
	// Credentials are other named sets of username, password and TLS;
	// metadata gnmi_credential picks one for a resource.
	Credentials map[string]credentialOptions `yaml:"credentials"`
}

type credentialOptions struct {
	Username string     `yaml:"username"`
	Password string     `yaml:"password" secret:"true"`
	TLS      tlsOptions `yaml:"tls"`
}

type tlsOptions struct {
	// Enabled defaults to true when any other TLS key is set.
	Enabled    *bool  `yaml:"enabled"`
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any certificate: only when written, never
	// a fallback.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Input is a configured gNMI input instance.
type Input struct {
	name     string
	interval time.Duration
	port     int
	target   string
	cfg      gnmiclient.Config // without Address and Target
	creds    map[string]gnmiclient.Config
	set      *mapping.Set
	encoding pb.Encoding
	mode     gnmiclient.Mode // "" keeps the mappings'
	sample   time.Duration
	beat     time.Duration
	flush    time.Duration
	silence  time.Duration
	backoff  time.Duration
	log      *slog.Logger
	metrics  *gnmiclient.Metrics
	maps     *mapping.Metrics
	states   *gnmiinput.States

	mu     sync.Mutex
	byType map[string]*mapping.Set // the mappings that apply to a resource type
}

// New builds an instance from its block. Mapping files and TLS files are
// read now, so `panoptes validate` reports them.
func New(block plugin.Block, deps input.Deps) (input.Input, error) {
	var o options
	if err := block.Decode(&o); err != nil {
		return nil, err
	}
	in := &Input{name: deps.Name, interval: deps.Interval, port: o.Port, target: o.Target, log: deps.Logger,
		sample: o.SampleInterval.D(), beat: o.HeartbeatInterval.D(), flush: o.Flush.D(), silence: o.Silence.D(),
		backoff: o.MaxBackoff.D(), byType: map[string]*mapping.Set{}}
	if in.interval <= 0 {
		in.interval = time.Minute
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	if in.port == 0 {
		in.port = DefaultPort
	}
	if in.port < 1 || in.port > 65535 {
		return nil, plugin.Errorf("port", "%d: want 1-65535", o.Port)
	}
	var err error
	if in.encoding, err = parseEncoding(o.Encoding); err != nil {
		return nil, plugin.Errorf("encoding", "%v", err)
	}
	if o.Mode != "" {
		if in.mode, err = gnmiclient.ParseMode(o.Mode); err != nil {
			return nil, plugin.Errorf("mode", "%v", err)
		}
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"sample_interval", in.sample}, {"heartbeat_interval", in.beat}, {"flush", in.flush}, {"silence", in.silence},
		{"timeout", o.Timeout.D()}, {"max_backoff", o.MaxBackoff.D()}} {
		if d.v < 0 {
			return nil, plugin.Errorf(d.field, "%s is negative", d.v)
		}
	}
	if in.set, err = loadMappings(block, o.Mappings, o.Groups); err != nil {
		return nil, err
	}
	def, err := in.credential(block, "", "input "+deps.Name, credentialOptions{Username: o.Username, Password: o.Password, TLS: o.TLS})
	if err != nil {
		return nil, err
	}
	def.Timeout = o.Timeout.D()
	in.cfg = def
	in.creds = map[string]gnmiclient.Config{}
	for name, c := range o.Credentials {
		cfg, err := in.credential(block, "credentials."+name+".", name, c)
		if err != nil {
			return nil, err
		}
		cfg.Timeout = def.Timeout
		in.creds[name] = cfg
	}
	in.metrics = gnmiclient.NewMetrics(deps.Registerer)
	in.maps = mapping.NewMetrics(deps.Registerer)
	in.states = gnmiinput.NewStates(deps.Registerer)
	return in, nil
}

// credential builds one set of credentials (the options' own, or one of
// credentials at prefix "credentials.<name>."): the CA and the key pair are
// read now, so that a wrong file fails validation at its key, not every
// target's connection later.
func (in *Input) credential(block plugin.Block, prefix, name string, c credentialOptions) (gnmiclient.Config, error) {
	var cfg gnmiclient.Config
	if c.Password != "" && c.Username == "" {
		return cfg, plugin.Errorf(prefix+"username", "is empty but a password is set: the target needs both")
	}
	t := c.TLS
	enabled := t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
	if t.Enabled != nil {
		if !*t.Enabled && enabled {
			return cfg, plugin.Errorf(prefix+"tls.enabled", "is false but other tls keys are set: remove them or enable TLS")
		}
		enabled = *t.Enabled
	}
	if t.InsecureSkipVerify && t.CAFile != "" {
		return cfg, plugin.Errorf(prefix+"tls.insecure_skip_verify", "is true together with tls.ca_file: verify with the CA (remove insecure_skip_verify) or accept any certificate (remove ca_file)")
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		return block.Abs(p)
	}
	cfg = gnmiclient.Config{Credential: name, Username: c.Username, Password: c.Password,
		TLS: gnmiclient.TLS{Enabled: enabled, CAFile: abs(t.CAFile), CertFile: abs(t.CertFile), KeyFile: abs(t.KeyFile),
			ServerName: t.ServerName, SkipVerify: t.InsecureSkipVerify}}
	if !enabled {
		if c.Password != "" {
			in.log.Warn("gnmi input sends a password without TLS: enable tls for anything but a lab", "input", in.name, "credential", name)
		}
		return cfg, nil
	}
	if t.InsecureSkipVerify {
		in.log.Warn("gnmi input accepts any target certificate (tls.insecure_skip_verify): for labs only", "input", in.name, "credential", name)
	}
	if cfg.TLS.CAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.CAFile)
		if err != nil {
			return cfg, plugin.Errorf(prefix+"tls.ca_file", "%v", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return cfg, plugin.Errorf(prefix+"tls.ca_file", "%s holds no PEM certificate", cfg.TLS.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return cfg, plugin.Errorf(prefix+"tls", "cert_file and key_file go together (mutual TLS): set both or neither")
	}
	if t.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile); err != nil {
			return cfg, plugin.Errorf(prefix+"tls.cert_file", "with tls.key_file: %v", err)
		}
	}
	return cfg, nil
}

func parseEncoding(s string) (pb.Encoding, error) {
	if strings.TrimSpace(s) == "" {
		return pb.Encoding_PROTO, nil // typed values: the cheapest to decode
	}
	return gnmiclient.ParseEncoding(s)
}

// loadMappings loads the named shipped mappings and mapping files (every
// shipped one by default) and keeps the groups of the listed types.
func loadMappings(block plugin.Block, names, groups []string) (*mapping.Set, error) {
	shipped, err := mapping.LoadFS(gnmimaps.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("shipped gNMI mappings: %w", err)
	}
	var maps []*mapping.Mapping
	if len(names) == 0 {
		maps = shipped
	}
	for i, n := range names {
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.ContainsRune(n, '/') {
			m, err := mapping.LoadFile(block.Abs(n))
			if err != nil {
				return nil, plugin.Errorf(fmt.Sprintf("mappings[%d]", i), "%v", err)
			}
			maps = append(maps, m)
			continue
		}
		j := slices.IndexFunc(shipped, func(m *mapping.Mapping) bool { return m.Name == n })
		if j < 0 {
			known := make([]string, len(shipped))
			for k, m := range shipped {
				known[k] = m.Name
			}
			return nil, plugin.Errorf(fmt.Sprintf("mappings[%d]", i), "%q is not a shipped mapping (%s) nor a .yaml file", n, strings.Join(known, ", "))
		}
		maps = append(maps, shipped[j])
	}
	set := mapping.NewSet(maps...)
	if len(groups) > 0 {
		for i, g := range groups {
			if !slices.ContainsFunc(set.Groups(), func(mg *mapping.Group) bool { return mg.Type == g }) {
				return nil, plugin.Errorf(fmt.Sprintf("groups[%d]", i), "no mapping of this input makes %q groups (%s)", g, strings.Join(groupTypes(set), ", "))
			}
		}
		set = set.Select(func(g *mapping.Group) bool { return slices.Contains(groups, g.Type) })
	}
	if len(set.Groups()) == 0 {
		return nil, plugin.Errorf("mappings", "hold no group: nothing to subscribe")
	}
	return set, nil
}

func groupTypes(s *mapping.Set) []string {
	var out []string
	for _, g := range s.Groups() {
		if !slices.Contains(out, g.Type) {
			out = append(out, g.Type)
		}
	}
	slices.Sort(out)
	return out
}

// setFor returns the mappings that apply to a resource type (those without
// match.resource_type, and those that list it).
func (in *Input) setFor(typ string) *mapping.Set {
	in.mu.Lock()
	defer in.mu.Unlock()
	if s, ok := in.byType[typ]; ok {
		return s
	}
	s := in.set.Select(func(g *mapping.Group) bool {
		rt := g.Mapping().ResourceTypes
		return len(rt) == 0 || slices.Contains(rt, typ)
	})
	in.byType[typ] = s
	return s
}

// Open prepares res's subscription: its target address and what to
// subscribe. It connects nothing.
func (in *Input) Open(res *resource.Resource) (input.Stream, error) {
	host, err := endpointHost(res.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("gnmi input %s: resource %s: resource_endpoint %q: %v", in.name, res.ID, res.Endpoint, err)
	}
	port := in.port
	if v, ok := res.Metadata[MetaPort]; ok {
		p, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("gnmi input %s: resource %s: metadata %s %q: want a port number 1-65535", in.name, res.ID, MetaPort, v)
		}
		port = p
	}
	set := in.setFor(res.Type)
	if len(set.Groups()) == 0 {
		return nil, fmt.Errorf("gnmi input %s: resource %s: no mapping of this input applies to resource_type %q", in.name, res.ID, res.Type)
	}
	cfg := in.cfg
	if name, ok := res.Metadata[MetaCredential]; ok {
		c, found := in.creds[name]
		if !found {
			known := slices.Sorted(maps.Keys(in.creds))
			return nil, fmt.Errorf("gnmi input %s: resource %s: metadata %s %q is none of the input's credentials (%s)", in.name, res.ID, MetaCredential, name, strings.Join(known, ", "))
		}
		cfg = c
	}
	cfg.Address = net.JoinHostPort(host, strconv.Itoa(port))
	cfg.Target = in.target
	if v := res.Metadata[MetaTarget]; v != "" {
		cfg.Target = v
	}
	subs := set.Subscriptions(in.sampleInterval())
	for i := range subs {
		if in.mode != "" {
			subs[i].Mode = in.mode
		}
		if subs[i].Mode == gnmiclient.OnChange {
			subs[i].SampleInterval = 0
		}
		if in.beat > 0 && subs[i].HeartbeatInterval == 0 && subs[i].Mode != gnmiclient.Sample {
			subs[i].HeartbeatInterval = in.beat
		}
	}
	t := &gnmiinput.Target{Resource: res, Name: in.name, Config: cfg, Set: set, Interval: in.interval, Flush: in.flush,
		Encoding: in.encoding, Logger: in.log, Metrics: in.metrics, MapMetrics: in.maps, States: in.states,
		Silence: in.silence, MaxBackoff: in.backoff, Subscriptions: subs}
	return stream{t}, nil
}

func (in *Input) sampleInterval() time.Duration {
	if in.sample > 0 {
		return in.sample
	}
	return in.interval
}

// States counts this instance's running subscriptions by state (shared by
// the instances on one registry).
func (in *Input) States() *gnmiinput.States { return in.states }

// Metrics are the subscriptions' self-metrics.
func (in *Input) Metrics() *gnmiclient.Metrics { return in.metrics }

type stream struct{ t *gnmiinput.Target }

// Run streams until ctx ends (then it returns nil).
func (s stream) Run(ctx context.Context, emit func(*metric.GroupSet)) error {
	err := s.t.Run(ctx, emit)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// endpointHost is the host of resource_endpoint ("host", "host:port",
// "[v6]:port", "[v6]" or a bare IPv6 address): the SNMP port, if any, is
// not the gNMI one.
func endpointHost(ep string) (string, error) {
	ep = strings.TrimSpace(ep)
	if ep == "" {
		return "", fmt.Errorf("empty endpoint")
	}
	if _, err := netip.ParseAddr(ep); err == nil {
		return ep, nil
	}
	if strings.HasPrefix(ep, "[") && strings.HasSuffix(ep, "]") {
		return ep[1 : len(ep)-1], nil
	}
	if !strings.Contains(ep, ":") {
		return ep, nil
	}
	h, _, err := net.SplitHostPort(ep)
	if err != nil || h == "" {
		return "", fmt.Errorf("want host, host:port or [ipv6]:port")
	}
	return h, nil
}

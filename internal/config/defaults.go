package config

import (
	"path/filepath"
	"time"
)

// Defaults a file may leave out.
const (
	DefaultSite              = "local"
	DefaultDataDir           = "data"
	DefaultHTTPListen        = "127.0.0.1:9301"
	DefaultDiscoveryInterval = 5 * time.Minute
	DefaultPollInterval      = 60 * time.Second
	DefaultHeartbeat         = 2 * time.Second
)

// The roles a process can run (config roles, panoptes run --roles).
const (
	RoleDiscovery       = "discovery"
	RoleResourceManager = "resource_manager"
	RolePoller          = "poller"
	RoleEnrichment      = "enrichment"
	RoleConsumer        = "consumer"
	RoleHTTP            = "http"
)

// AllRoles are the built-in roles; KnownRoles adds the apps' ones.
var AllRoles = []string{RoleDiscovery, RoleResourceManager, RolePoller, RoleEnrichment, RoleConsumer, RoleHTTP}

// Default returns a config with every default set; decoding a file over it
// overrides what the file says.
func Default() *Config {
	return &Config{
		Site:    DefaultSite,
		DataDir: DefaultDataDir,
		HTTP:    HTTP{Listen: DefaultHTTPListen},
		Log:     Log{Level: "info", Format: "text"},
		Bus: Bus{
			MaxAge:         Duration(24 * time.Hour),
			MaxBytes:       1 << 30,
			Replicas:       1,
			ConnectRetry:   Duration(30 * time.Second),
			PublishTimeout: Duration(2 * time.Second),
			Compression:    "s2",
			Linger:         Duration(5 * time.Millisecond),
			Buffer:         BusBuffer{MaxMessages: 100000, MaxBytes: 64 << 20},
		},
		Discovery: Discovery{
			Interval: Duration(DefaultDiscoveryInterval),
			Defaults: ResourceDefaults{Class: "network", Subclass: "switch", Type: "generic"},
		},
		SNMP: SNMP{
			Port:                 161,
			Timeout:              Duration(2 * time.Second),
			Retries:              1,
			MaxRepetitions:       25,
			MaxRequestsPerDevice: 2,
			Transport:            SNMPTransportShared,
			Credential:           "default",
		},
		Polling: Polling{MaxConcurrentChecks: 256},
		Rates: Rates{
			FlushInterval: Duration(30 * time.Second), MaxGap: 3,
			StateTTL: Duration(24 * time.Hour), EvictAfter: Duration(time.Hour),
		},
		Enrichment: Enrichment{
			Interval: Duration(15 * time.Minute), TTL: Duration(time.Hour), MinInterval: Duration(time.Minute), MaxConcurrent: 8,
		},
		Cluster: Cluster{Heartbeat: Duration(DefaultHeartbeat), Capacity: 1},
	}
}

// applyListDefaults fills defaults inside list items, which a decode over
// Default() cannot reach.
func (c *Config) applyListDefaults() {
	if len(c.Roles) == 0 {
		c.Roles = KnownRoles()
	}
	if c.Discovery.Defaults.Site == "" {
		c.Discovery.Defaults.Site = c.Site
	}
	for i := range c.Discovery.Sources {
		s := &c.Discovery.Sources[i]
		if s.Name == "" {
			s.Name = s.Plugin
		}
		if s.MinValidRatio == 0 {
			s.MinValidRatio = 0.5
		}
	}
	for i := range c.Polling.Plugins {
		p := &c.Polling.Plugins[i]
		if p.Plugin == "" {
			p.Plugin = p.Name
		}
		if p.Name == "" {
			p.Name = p.Plugin
		}
		if p.Interval == 0 {
			p.Interval = Duration(DefaultPollInterval)
		}
	}
	for i := range c.Inputs {
		p := &c.Inputs[i]
		if p.Plugin == "" {
			p.Plugin = p.Name
		}
		if p.Name == "" {
			p.Name = p.Plugin
		}
		if p.Interval == 0 {
			p.Interval = Duration(DefaultPollInterval)
		}
	}
	for i := range c.Apps {
		a := &c.Apps[i]
		if a.Plugin == "" {
			a.Plugin = a.Name
		}
		if a.Name == "" {
			a.Name = a.Plugin
		}
	}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		if s.Name == "" {
			s.Name = s.Type
		}
		if s.BatchSize == 0 {
			s.BatchSize = 500
		}
		if s.BatchTimeout == 0 {
			s.BatchTimeout = Duration(time.Second)
		}
		if s.MaxBackoff == 0 {
			s.MaxBackoff = Duration(30 * time.Second)
		}
	}
}

// resolvePaths makes relative paths relative to the config file's directory,
// so a config works from any working directory.
func (c *Config) resolvePaths(dir string) {
	c.applyListDefaults()
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.DataDir = abs(c.DataDir) // plugins resolve their own paths (plugin.Block.Abs)
	b := &c.Bus
	b.NKeySeedFile, b.CredsFile, b.Leaf.CredsFile = abs(b.NKeySeedFile), abs(b.CredsFile), abs(b.Leaf.CredsFile)
	for _, t := range []*BusTLS{&b.TLS, &b.Leaf.TLS} {
		t.CAFile, t.CertFile, t.KeyFile = abs(t.CAFile), abs(t.CertFile), abs(t.KeyFile)
	}
	for _, t := range []*BusServerTLS{&b.ListenTLS, &b.Cluster.TLS, &b.LeafTLS} {
		t.CAFile, t.CertFile, t.KeyFile = abs(t.CAFile), abs(t.CertFile), abs(t.KeyFile)
	}
}

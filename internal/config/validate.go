package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Validate checks values and cross-field rules, reporting every problem with
// its file, line and key.
func (c *Config) Validate() error {
	v := &validator{cfg: c}
	v.token("site", c.Site)
	if c.DataDir == "" {
		v.errf("data_dir", "is empty; set a directory for the bus state")
	}
	if c.HTTP.Listen != "" {
		v.hostPort("http.listen", c.HTTP.Listen)
	}
	for _, p := range c.HTTP.Problems(c.HTTP.Listen, "http.listen", "http.") {
		v.errf(p.Key, "%s", p.Msg)
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")

	if c.Bus.URL != "" {
		for i, u := range strings.Split(c.Bus.URL, ",") {
			pu, err := url.Parse(strings.TrimSpace(u))
			if err != nil || pu.Host == "" || (pu.Scheme != "nats" && pu.Scheme != "tls" && pu.Scheme != "ws" && pu.Scheme != "wss") {
				shown := u
				if strings.Contains(u, "@") { // user:password@ (a reload logs every problem)
					shown = "(with credentials, not shown)"
				}
				v.errf("bus.url", "URL %d %q is not a NATS URL (write nats://host:4222)", i+1, shown)
			}
		}
		if c.Bus.Listen != "" {
			v.errf("bus.listen", "is set together with bus.url; listen only applies to the embedded server")
		}
	}
	if c.Bus.Listen != "" {
		v.hostPort("bus.listen", c.Bus.Listen)
	}
	v.atLeast("bus.max_age", c.Bus.MaxAge.D(), time.Minute)
	if c.Bus.MaxBytes < 1<<20 {
		v.errf("bus.max_bytes", "%d bytes is too small; give at least 1MiB", c.Bus.MaxBytes)
	}
	if c.Bus.Replicas < 1 || c.Bus.Replicas > 5 {
		v.errf("bus.replicas", "%d is out of range 1..5", c.Bus.Replicas)
	} else if c.Bus.Replicas > 1 && c.Bus.URL == "" && len(c.Bus.Cluster.Routes) == 0 {
		v.errf("bus.replicas", "%d needs a NATS cluster (bus.url, or bus.cluster for embedded servers); the embedded server alone holds one replica", c.Bus.Replicas)
	}
	v.validateBusEngine(&c.Bus)

	v.atLeast("discovery.interval", c.Discovery.Interval.D(), time.Second)
	for _, f := range []struct{ key, val string }{
		{"site", c.Discovery.Defaults.Site}, {"class", c.Discovery.Defaults.Class},
		{"subclass", c.Discovery.Defaults.Subclass}, {"type", c.Discovery.Defaults.Type},
	} {
		if f.key == "site" && c.Line("discovery.defaults.site") == 0 {
			continue // it is site, checked above
		}
		v.token("discovery.defaults."+f.key, f.val)
	}
	names := map[string]bool{}
	for i, s := range c.Discovery.Sources {
		p := fmt.Sprintf("discovery.sources[%d]", i)
		if s.Plugin == "" {
			v.errf(p+".plugin", "is empty; name the discovery plugin that reads the devices (see README.md)")
		}
		if s.ClassifyTTL < 0 || (s.ClassifyTTL > 0 && !s.Classify) {
			v.errf(p+".classify_ttl", "%s needs classify: true and must not be negative", s.ClassifyTTL.D())
		}
		if names[s.Name] {
			v.errf(p+".name", "%q is used by another source; names must be unique", s.Name)
		}
		names[s.Name] = true
		if s.MinValidRatio < 0 || s.MinValidRatio > 1 {
			v.errf(p+".min_valid_ratio", "%v is out of range 0..1", s.MinValidRatio)
		}
	}

	v.validateSNMP(&c.SNMP)

	v.atLeast("rates.flush_interval", c.Rates.FlushInterval.D(), time.Second)
	if c.Rates.MaxGap < 1 {
		v.errf("rates.max_gap", "%d must be at least 1 interval", c.Rates.MaxGap)
	}
	v.atLeast("rates.state_ttl", c.Rates.StateTTL.D(), time.Minute)
	v.atLeast("rates.evict_after", c.Rates.EvictAfter.D(), time.Minute)
	v.atLeast("enrichment.interval", c.Enrichment.Interval.D(), time.Second)
	v.atLeast("enrichment.min_interval", c.Enrichment.MinInterval.D(), time.Second)
	if c.Enrichment.TTL < c.Enrichment.Interval {
		v.errf("enrichment.ttl", "%s is shorter than enrichment.interval %s; cached data would expire before it is refreshed", c.Enrichment.TTL, c.Enrichment.Interval)
	}
	if n := c.Enrichment.MaxConcurrent; n < 1 || n > 1000 {
		v.errf("enrichment.max_concurrent", "%d is out of range 1..1000", n)
	}
	v.validateCluster(c)
	v.validateRuntime(&c.Runtime)

	if c.Polling.MaxConcurrentChecks < 1 {
		v.errf("polling.max_concurrent_checks", "%d must be at least 1", c.Polling.MaxConcurrentChecks)
	}
	names = map[string]bool{}
	for i, p := range c.Polling.Plugins {
		path := fmt.Sprintf("polling.plugins[%d]", i)
		if p.Plugin == "" {
			v.errf(path+".plugin", "is empty; name a polling plugin (see README.md)")
		}
		if names[p.Name] {
			v.errf(path+".name", "%q is used by another plugin; names must be unique", p.Name)
		}
		names[p.Name] = true
		v.atLeast(path+".interval", p.Interval.D(), time.Second)
		if p.Timeout < 0 || (p.Timeout > 0 && p.Timeout > p.Interval) {
			v.errf(path+".timeout", "%s must be between 0 and the interval %s", p.Timeout, p.Interval)
		}
		if _, err := resource.ParseFilter(p.Filter); err != nil {
			v.errf(path+".filter", "%v", err)
		}
	}

	names = map[string]bool{}
	for i, p := range c.Inputs {
		path := fmt.Sprintf("inputs[%d]", i)
		if p.Plugin == "" {
			v.errf(path+".plugin", "is empty; name a streaming input (see README.md)")
		}
		if names[p.Name] {
			v.errf(path+".name", "%q is used by another input; names must be unique", p.Name)
		}
		names[p.Name] = true
		v.atLeast(path+".interval", p.Interval.D(), time.Second)
		if _, err := resource.ParseFilter(p.Filter); err != nil {
			v.errf(path+".filter", "%v", err)
		}
	}
	names = map[string]bool{}
	for i, a := range c.Apps {
		path := fmt.Sprintf("apps[%d]", i)
		if a.Plugin == "" {
			v.errf(path+".plugin", "is empty; name an app type (see README.md)")
		}
		if names[a.Name] {
			v.errf(path+".name", "%q is used by another app; names must be unique", a.Name)
		}
		names[a.Name] = true
	}

	names = map[string]bool{}
	for i, s := range c.Sinks {
		path := fmt.Sprintf("sinks[%d]", i)
		if s.Type == "" {
			v.errf(path+".type", "is empty; name a sink type (see Sinks in README.md)")
		}
		if names[s.Name] {
			v.errf(path+".name", "%q is used by another sink; names must be unique", s.Name)
		}
		names[s.Name] = true
		if s.BatchSize < 1 || s.BatchSize > 100000 {
			v.errf(path+".batch_size", "%d is out of range 1..100000", s.BatchSize)
		}
		v.atLeast(path+".batch_timeout", s.BatchTimeout.D(), time.Millisecond)
		v.atLeast(path+".max_backoff", s.MaxBackoff.D(), 100*time.Millisecond)
		for j, subj := range s.Subjects {
			// Which of the two a sink reads (metrics, or events for an
			// alert sink) is its type's to check.
			if !strings.HasPrefix(subj, "panoptes.metrics.") && !strings.HasPrefix(subj, "panoptes.events.") {
				v.errf(fmt.Sprintf("%s.subjects[%d]", path, j), "%q must start with panoptes.metrics. (e.g. panoptes.metrics.site1.>), or panoptes.events. for a sink of events", subj)
			}
		}
	}
	return errors.Join(v.errs...)
}

func (v *validator) validateSNMP(s *SNMP) {
	if s.Port < 1 || s.Port > 65535 {
		v.errf("snmp.port", "%d is out of range 1..65535", s.Port)
	}
	v.atLeast("snmp.timeout", s.Timeout.D(), 10*time.Millisecond)
	if s.Retries < 0 || s.Retries > 10 {
		v.errf("snmp.retries", "%d is out of range 0..10", s.Retries)
	}
	if s.MaxRepetitions < 1 || s.MaxRepetitions > 255 {
		v.errf("snmp.max_repetitions", "%d is out of range 1..255", s.MaxRepetitions)
	}
	if s.MaxRequestsPerDevice < 1 || s.MaxRequestsPerDevice > 64 {
		v.errf("snmp.max_requests_per_device", "%d is out of range 1..64", s.MaxRequestsPerDevice)
	}
	if s.Transport != SNMPTransportShared && s.Transport != SNMPTransportConnected {
		v.errf("snmp.transport", "%q is not %q or %q", s.Transport, SNMPTransportShared, SNMPTransportConnected)
	}
	if _, ok := s.Credentials[s.Credential]; !ok && len(s.Credentials) > 0 {
		v.errf("snmp.credential", "%q is not one of snmp.credentials (%s)", s.Credential, strings.Join(sortedKeys(s.Credentials), ", "))
	}
	for _, name := range sortedKeys(s.Credentials) {
		cred := s.Credentials[name]
		for _, e := range cred.Problems() {
			v.errf("snmp.credentials."+name+"."+e.Field, "%s", e.Msg)
		}
	}
}

type validator struct {
	cfg  *Config
	errs []error
}

func (v *validator) errf(path, format string, a ...any) {
	v.errs = append(v.errs, v.cfg.Errorf(path, format, a...))
}

func (v *validator) atLeast(path string, d, min time.Duration) {
	if d < min {
		v.errf(path, "%s is too short; give at least %s", d, min)
	}
}

func (v *validator) oneOf(path, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.errf(path, "%q is not one of: %s", val, strings.Join(allowed, ", "))
}

// token checks a value that becomes a bus subject token or a resource field.
func (v *validator) token(path, val string) {
	if strings.TrimSpace(val) == "" {
		v.errf(path, "is empty")
		return
	}
	if strings.ContainsAny(val, " \t.*>") {
		v.errf(path, "%q must not contain spaces, '.', '*' or '>'", val)
	}
}

func (v *validator) hostPort(path, val string) {
	if _, _, err := net.SplitHostPort(val); err != nil {
		v.errf(path, "%q is not host:port (write e.g. 127.0.0.1:9301)", val)
	}
}

// minMemoryLimit: below this the GC would run all the time for a node's
// fixed heap (the embedded bus alone holds tens of MB).
const minMemoryLimit = 64 << 20

// maxMaxProcs bounds runtime.max_procs: a typo, not a machine.
const maxMaxProcs = 1024

func (v *validator) validateRuntime(r *Runtime) {
	switch r.MemoryLimit {
	case "", "auto", "off":
	default:
		n, err := plugin.ParseByteSize(r.MemoryLimit)
		if err != nil {
			v.errf("runtime.memory_limit", "%v, or auto or off", err)
		} else if n < minMemoryLimit {
			v.errf("runtime.memory_limit", "%s is below 64MiB: the GC would run constantly; use auto, off or a larger size", r.MemoryLimit)
		}
	}
	if r.GCPercent < 0 || r.GCPercent > 1000 {
		v.errf("runtime.gc_percent", "%d is out of range 0..1000 (0: the default, 50; Go's own is 100)", r.GCPercent)
	}
	if r.MaxProcs != "" && r.MaxProcs != "auto" {
		if n, err := strconv.Atoi(r.MaxProcs); err != nil || n < 1 || n > maxMaxProcs {
			v.errf("runtime.max_procs", "%q is not auto or a number of Ps from 1 to %d", r.MaxProcs, maxMaxProcs)
		}
	}
}

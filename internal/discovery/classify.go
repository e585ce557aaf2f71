package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Metadata keys classification writes. A value the source already set for
// vendor, model, os or os_version is kept: the source is the authority.
const (
	MetaVendor         = "vendor"
	MetaModel          = "model"
	MetaOS             = "os"
	MetaOSVersion      = "os_version"
	MetaSysName        = "sys_name"
	MetaSysObjectID    = "sys_object_id"
	MetaClassification = "classification"       // ok or failed
	MetaClassifyError  = "classification_error" // the polling status name of the failure
)

// Classification results, the values of MetaClassification.
const (
	ClassificationOK     = "ok"
	ClassificationFailed = "failed"
)

// Prober reads a device's identity (sysObjectID, sysDescr, sysName).
type Prober interface {
	Probe(ctx context.Context, r *resource.Resource) (Identity, error)
}

// SNMPProber probes over SNMP with each resource's own target and
// credential (poll.TargetFor).
type SNMPProber struct {
	Pool *snmp.Pool
	SNMP poll.SNMPOptions
}

var identityOIDs = []string{".1.3.6.1.2.1.1.2.0", ".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.5.0"}

// Probe GETs sysObjectID.0, sysDescr.0 and sysName.0.
func (p *SNMPProber) Probe(ctx context.Context, r *resource.Resource) (Identity, error) {
	t, err := poll.TargetFor(r, p.SNMP)
	if err != nil {
		return Identity{}, err
	}
	vbs, err := p.Pool.Get(ctx, t, identityOIDs)
	if err != nil {
		return Identity{}, err
	}
	var id Identity
	for i := range vbs {
		vb := &vbs[i]
		var s string
		if b, ok := snmp.Octets(vb); ok {
			s = string(b)
		}
		switch {
		case vb.Type == gosnmp.NoSuchObject || vb.Type == gosnmp.NoSuchInstance:
		case strings.HasSuffix(vb.Name, "1.1.2.0"):
			id.SysObjectID = strings.TrimPrefix(s, ".")
		case strings.HasSuffix(vb.Name, "1.1.1.0"):
			id.SysDescr = strings.ToValidUTF8(s, "?")
		case strings.HasSuffix(vb.Name, "1.1.5.0"):
			id.SysName = strings.ToValidUTF8(s, "?")
		}
	}
	if id.SysObjectID == "" && id.SysDescr == "" {
		return id, errors.New("the agent has neither sysObjectID nor sysDescr")
	}
	return id, nil
}

// ClassifyOptions configure Classify. Zero values take the defaults.
type ClassifyOptions struct {
	// Source names the wrapped source in logs and metrics.
	Source string
	// DefaultType is the resource_type that means "not set by the source"
	// (discovery.defaults.type, else FallbackType); only such resources get
	// the classified type.
	DefaultType string
	// TTL: a device classified successfully is probed again after this
	// long (default 24h). A failed probe is retried on the next run.
	TTL time.Duration
	// ProbeTimeout bounds one device's probe (default 10s).
	ProbeTimeout time.Duration
	// Concurrency bounds probes in flight (default 16).
	Concurrency int
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	Now         func() time.Time
}

// classified is the cache entry of one resource.
type classified struct {
	endpoint, credential string // a change of either forces a new probe
	at                   time.Time
	id                   Identity
	ok                   bool   // the last probe succeeded
	everOK               bool   // id holds a successful probe's identity
	failure              string // the last failure's status name
}

type classifier struct {
	src   Source
	probe Prober
	opts  ClassifyOptions
	m     *classifyMetrics

	mu    sync.Mutex
	cache map[string]*classified // by resource key as the source gave it
}

// Classify wraps src so each resource it discovers is probed (through
// probe) and its metadata gets vendor, model, os, os_version, sys_name,
// sys_object_id and classification; a resource left at the default type
// gets the platform's type (cisco, juniper, arista, linux...). Results are
// cached: a device is probed again after opts.TTL, when its endpoint or
// credential changes, or on every run while its probe fails. An
// unreachable device is kept, with classification=failed and
// classification_error, logged when it starts failing and counted; if it
// was classified before, its last identity is kept so that its type does
// not flap.
func Classify(src Source, probe Prober, opts ClassifyOptions) Source {
	if opts.DefaultType == "" {
		opts.DefaultType = FallbackType
	}
	if opts.TTL <= 0 {
		opts.TTL = 24 * time.Hour
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 10 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &classifier{src: src, probe: probe, opts: opts, m: newClassifyMetrics(opts.Registerer), cache: map[string]*classified{}}
}

// Discover runs the wrapped source, then probes what needs probing. A
// source error is returned as is; probe failures never fail the run.
func (c *classifier) Discover(ctx context.Context) (*Result, error) {
	res, err := c.src.Discover(ctx)
	if err != nil || res == nil || res.Set == nil {
		return res, err
	}
	now := c.opts.Now()
	seen := make(map[string]bool, len(res.Set.Resources))
	var todo []*resource.Resource
	c.mu.Lock()
	for _, r := range res.Set.Resources {
		key := r.Key()
		seen[key] = true
		e := c.cache[key]
		if e == nil || !e.ok || now.Sub(e.at) >= c.opts.TTL || e.endpoint != r.Endpoint || e.credential != r.Metadata[poll.MetaCredential] {
			todo = append(todo, r)
		}
	}
	for k := range c.cache { // forget resources the source dropped
		if !seen[k] {
			delete(c.cache, k)
		}
	}
	c.mu.Unlock()

	if err := c.probeAll(ctx, todo, now); err != nil {
		return nil, err
	}

	failed := 0
	keys := make(map[string]bool, len(res.Set.Resources))
	for _, r := range res.Set.Resources {
		keys[r.Key()] = true
	}
	c.mu.Lock()
	for i, r := range res.Set.Resources {
		e := c.cache[r.Key()]
		if e == nil {
			continue
		}
		out := c.apply(r, e)
		// A new type must not make two resources of the set one.
		if k := out.Key(); k != r.Key() {
			if keys[k] {
				out.Type = r.Type
			} else {
				keys[k] = true
			}
		}
		res.Set.Resources[i] = out
		if !e.ok {
			failed++
		}
	}
	c.mu.Unlock()
	c.m.unclassified.WithLabelValues(c.opts.Source).Set(float64(failed))
	if failed > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("classification failed for %d of %d devices; they are kept and probed again next run",
			failed, len(res.Set.Resources)))
	}
	return res, nil
}

// probeAll probes rs with bounded concurrency and records the results. It
// returns ctx's error when the run was cancelled (results are then partial
// and the caller abandons the run).
func (c *classifier) probeAll(ctx context.Context, rs []*resource.Resource, now time.Time) error {
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for _, r := range rs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pctx, cancel := context.WithTimeout(ctx, c.opts.ProbeTimeout)
			id, err := c.probe.Probe(pctx, r)
			cancel()
			if ctx.Err() != nil {
				return
			}
			c.record(r, id, err, now)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (c *classifier) record(r *resource.Resource, id Identity, err error, now time.Time) {
	key := r.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.cache[key]
	if e == nil {
		e = &classified{}
		c.cache[key] = e
	}
	wasFailing := e.failure != "" && !e.ok
	e.endpoint, e.credential, e.at = r.Endpoint, r.Metadata[poll.MetaCredential], now
	if err != nil {
		c.m.probes.WithLabelValues(c.opts.Source, "failed").Inc()
		status := snmp.KindOf(err).String()
		if !wasFailing || e.failure != status {
			c.opts.Logger.Warn(fmt.Sprintf("discovery %s: cannot classify %s: %v; kept in the inventory, probed again next run",
				c.opts.Source, key, err), "source", c.opts.Source, "resource", key, "status", status)
		}
		e.ok, e.failure = false, status
		return
	}
	c.m.probes.WithLabelValues(c.opts.Source, "ok").Inc()
	if wasFailing {
		c.opts.Logger.Info(fmt.Sprintf("discovery %s: classified %s after %s", c.opts.Source, key, e.failure),
			"source", c.opts.Source, "resource", key)
	}
	e.ok, e.everOK, e.failure, e.id = true, true, "", id
}

// apply returns a copy of r with the classification in its metadata.
func (c *classifier) apply(r *resource.Resource, e *classified) *resource.Resource {
	out := r.Clone()
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	md := out.Metadata
	if e.ok {
		md[MetaClassification] = ClassificationOK
	} else {
		md[MetaClassification] = ClassificationFailed
		md[MetaClassifyError] = e.failure
	}
	if !e.everOK {
		return out
	}
	p := ClassifyIdentity(e.id)
	setIf := func(k, v string) {
		if v != "" && md[k] == "" {
			md[k] = v
		}
	}
	setIf(MetaVendor, p.Vendor)
	setIf(MetaModel, p.Model)
	setIf(MetaOS, p.OS)
	setIf(MetaOSVersion, p.OSVersion)
	if e.id.SysName != "" {
		md[MetaSysName] = e.id.SysName
	}
	if e.id.SysObjectID != "" {
		md[MetaSysObjectID] = e.id.SysObjectID
	}
	if out.Type == c.opts.DefaultType && p.Type != "" {
		out.Type = p.Type
	}
	return out
}

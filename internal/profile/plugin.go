package profile

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/profiles"
)

// DefaultDir is the repository directory of the shipped profiles; the
// binary embeds them (package profiles), so without a `dirs` option the
// plugin uses those.
const DefaultDir = "profiles"

// sysObjectIDTTL bounds how long a cached sysObjectID is trusted: a device
// replaced behind the same name gets its new profile within this time.
const sysObjectIDTTL = time.Hour

const oidSysObjectID = ".1.3.6.1.2.1.1.2.0"

// Plugin is the `profile` polling plugin: it selects a profile for each
// resource and evaluates it.
//
// Options:
//
//	dirs: [/etc/panoptes/profiles]  # directories of *.yaml profiles (default: the shipped ones, embedded)
//	groups: [cpu, memory]                     # only these group types (default: all)
//
// Lookups marked `enrich: true` are read from Request.Enrich (the node's
// enrichment cache) instead of walked; such a poll also GETs sysUpTime.0,
// by which the cache sees a restart and collects them again at once.
type Plugin struct {
	set    *Set
	types  map[string]bool
	client Client // nil: req.SNMP
	now    func() time.Time
	// enrich holds each profile's cached lookup columns (of the groups in
	// types); anyEnrich says some profile has one.
	enrich    map[*Profile][]string
	anyEnrich bool
	// history keeps delta()'s previous values when the node hands none.
	history poll.History

	mu    sync.Mutex
	cache map[string]cached // sysObjectIDs and chosen fallbacks, by kind + resource key + endpoint
	limit int               // cache entries kept before expired ones are swept
}

type cached struct {
	value string
	at    time.Time
}

var (
	_ poll.Plugin   = (*Plugin)(nil)
	_ poll.Enricher = (*Plugin)(nil)
)

// pluginConfig is what the profile plugin's options block holds.
type pluginConfig struct {
	Dirs   plugin.Strings `yaml:"dirs"`   // directories of *.yaml profiles, relative to the config (default: the shipped ones)
	Groups plugin.Strings `yaml:"groups"` // only these group types (default: all)
}

// FromOptions builds the plugin from its options block (the polling
// plugin's factory: package poll/profile registers it as "profile").
func FromOptions(options plugin.Block) (poll.Plugin, error) {
	var c pluginConfig
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	var set *Set
	var err error
	if len(c.Dirs) == 0 {
		set, err = LoadFS(profiles.FS, DefaultDir)
	} else {
		dirs := make([]string, len(c.Dirs))
		for i, d := range c.Dirs {
			dirs[i] = options.Abs(d)
		}
		set, err = LoadDir(dirs...)
	}
	if err != nil {
		return nil, err
	}
	p, err := NewPlugin(set, c.Groups)
	if err != nil {
		return nil, &plugin.FieldError{Field: "groups", Msg: err.Error()}
	}
	return p, nil
}

// NewPlugin builds the plugin over a loaded set; types restricts the group
// types it produces (empty: all). A type no profile defines is an error.
func NewPlugin(set *Set, types []string) (*Plugin, error) {
	p := &Plugin{set: set, now: time.Now, cache: map[string]cached{}, limit: 1024, history: newMemHistory()}
	if len(types) > 0 {
		known := map[string]bool{}
		for _, pr := range set.byName {
			for _, g := range pr.Groups {
				known[g.Type] = true
			}
		}
		p.types = map[string]bool{}
		for _, t := range types {
			if !known[t] {
				return nil, fmt.Errorf("no loaded profile defines group type %q", t)
			}
			p.types[t] = true
		}
	}
	p.enrich = map[*Profile][]string{}
	for _, pr := range set.byName {
		if cols := pr.enrichColumns(p.types); len(cols) > 0 {
			p.enrich[pr], p.anyEnrich = cols, true
		}
	}
	return p, nil
}

// Poll selects the resource's profile and evaluates it.
func (p *Plugin) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	c := p.client
	if c == nil {
		if req.SNMP == nil {
			return nil, poll.WithStatus(metric.StatusInternalFailure, poll.ErrNoSNMP)
		}
		c = req.SNMP
	}
	sysOID := ""
	if p.set.NeedsSysObjectID(req.Resource) {
		var err error
		if sysOID, err = p.sysObjectID(ctx, c, req); err != nil {
			return nil, err
		}
	}
	prof, err := p.set.Select(req.Resource, sysOID)
	if errors.Is(err, ErrNoProfile) && len(p.set.fallbacks) > 0 {
		return p.pollFallbacks(ctx, c, req, nil, err)
	}
	if err != nil {
		status := metric.StatusInternalFailure // a metadata key naming a missing profile
		if errors.Is(err, ErrNoProfile) {
			status = metric.StatusMissingMetrics
		}
		return nil, poll.WithStatus(status, err)
	}
	if sysOID != "" && !prof.Match.Fallback && len(p.set.fallbacks) > 0 {
		// Chosen by sysObjectID alone: a net-snmp host without UCD-SNMP-MIB
		// is still a host. A profile named by metadata or resource_type is
		// what the user asked for, and stays.
		return p.pollFallbacks(ctx, c, req, prof, nil)
	}
	return p.evaluate(ctx, c, req, prof)
}

// pollFallbacks evaluates first (the profile the sysObjectID selected; nil
// when none matched: noMatch says why) and then the fallback profiles in
// turn, and keeps the first that finds data or meets a device failure: an
// unknown network device gets ENTITY-SENSOR-MIB, a Windows host
// HOST-RESOURCES-MIB. The choice is remembered like a sysObjectID, so later
// polls start with it. When none finds data, first's result stands.
func (p *Plugin) pollFallbacks(ctx context.Context, c Client, req *poll.Request, first *Profile, noMatch error) ([]*metric.Group, error) {
	key := "fallback|" + req.Resource.Key() + "|" + req.Resource.Endpoint
	order := p.set.fallbacks
	if first != nil {
		order = slices.Concat([]*Profile{first}, order)
	}
	if name, ok := p.cached(key); ok {
		if i := slices.IndexFunc(order, func(f *Profile) bool { return f.Name == name }); i > 0 {
			order = slices.Concat(order[i:i+1], order[:i], order[i+1:])
		}
	}
	var firstGroups []*metric.Group
	var firstErr error
	var errs []error
	for _, prof := range order {
		groups, err := p.evaluate(ctx, c, req, prof)
		var de *DeviceError
		if len(groups) > 0 || errors.As(err, &de) || ctx.Err() != nil {
			p.remember(key, prof.Name)
			return groups, err
		}
		if prof == first {
			firstGroups, firstErr = groups, err
			continue
		}
		errs = append(errs, fmt.Errorf("fallback profile %s: %w", prof.Name, err))
	}
	if first != nil {
		return firstGroups, firstErr
	}
	return nil, poll.WithStatus(metric.StatusMissingMetrics,
		fmt.Errorf("%w; no fallback profile found data:\n%w", noMatch, errors.Join(errs...)))
}

// evaluate evaluates prof for the request and maps what failed to a
// polling status.
func (p *Plugin) evaluate(ctx context.Context, c Client, req *poll.Request, prof *Profile) ([]*metric.Group, error) {
	client, enrichErr := c, error(nil)
	if cols := p.enrich[prof]; len(cols) > 0 && req.Enrich != nil {
		client, enrichErr = cachedLookups(ctx, c, req, cols)
	}
	groups, err := prof.Evaluate(ctx, client, &Request{
		Resource: req.Resource,
		Target:   req.Target,
		Interval: int(req.Interval / time.Second),
		Created:  float64(req.Now.UnixNano()) / 1e9,
		Types:    p.types,
		History:  cmp.Or(req.History, p.history),
	})
	if req.Logger != nil {
		req.Logger.Debug("profile evaluated", "profile", prof.Name, "groups", len(groups), "error", err)
	}
	if enrichErr != nil {
		var de *DeviceError
		if !errors.As(err, &de) {
			// Names fall back (<not set>, "sensor 7"): the check did not fail.
			return groups, poll.WithStatus(metric.StatusEnrichFailure, errors.Join(enrichErr, err))
		}
		err = errors.Join(err, enrichErr)
	}
	if err != nil && len(groups) == 0 {
		var de *DeviceError
		if !errors.As(err, &de) {
			// The device answered but had none of the data: not a network problem.
			return nil, poll.WithStatus(metric.StatusMissingMetrics, err)
		}
	}
	return groups, err
}

// sysObjectID returns the device's sysObjectID, from the cache when fresh.
func (p *Plugin) sysObjectID(ctx context.Context, c Client, req *poll.Request) (string, error) {
	key := "oid|" + req.Resource.Key() + "|" + req.Resource.Endpoint
	if oid, ok := p.cached(key); ok {
		return oid, nil
	}
	vbs, err := c.Get(ctx, req.Target, []string{oidSysObjectID})
	if err != nil {
		return "", fmt.Errorf("get sysObjectID: %w", err)
	}
	oid := ""
	if len(vbs) == 1 {
		if s, ok := value(&vbs[0]).(string); ok && strings.HasPrefix(s, ".") {
			oid = s
		}
	}
	p.remember(key, oid)
	return oid, nil
}

// cached returns a value remembered less than sysObjectIDTTL ago.
func (p *Plugin) cached(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.cache[key]
	return e.value, ok && p.now().Sub(e.at) < sysObjectIDTTL
}

func (p *Plugin) remember(key, value string) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cache) >= p.limit { // resources come and go: drop stale entries
		for k, e := range p.cache {
			if now.Sub(e.at) >= sysObjectIDTTL {
				delete(p.cache, k)
			}
		}
		if len(p.cache) >= p.limit {
			p.limit *= 2
		}
	}
	p.cache[key] = cached{value: value, at: now}
}

// Fingerprint identifies the profiles the plugin loaded (their files'
// content) and the group types it produces: a config reload that finds
// another one (a profile file edited in place) replaces the plugin even
// though its options did not change.
func (p *Plugin) Fingerprint() string {
	names := make([]string, 0, len(p.set.byName))
	for name := range p.set.byName {
		names = append(names, name)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		sum := p.set.byName[name].sum
		h.Write([]byte(name + "\x00"))
		h.Write(sum[:])
	}
	types := slices.Sorted(maps.Keys(p.types))
	h.Write([]byte(strings.Join(types, "\x00")))
	return hex.EncodeToString(h.Sum(nil))
}

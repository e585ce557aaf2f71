// Package topology is the topology app: it reads the neighbour groups the
// lldp polling plugin (or the gNMI LLDP mapping) puts on the bus, keeps
// each device's neighbour view in a JetStream KV bucket (every node sees
// every view; a restart keeps them), and builds the link graph from the
// views and the inventory: remote ends matched to inventory resources by
// chassis id, system name and management address, links with both ends'
// views and first/last seen, neighbours no resource matches as discovery
// candidates, bad input (malformed chassis ids, duplicate system names, a
// neighbour that is the device itself) reported and kept out. Link
// changes become events (added, removed) through package tracker. The
// graph is served as JSON and Graphviz DOT (Handler).
package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// Inventory is the resources devices are matched to (*inventory.Index).
type Inventory interface {
	Snapshot() []*resource.Resource
}

// Applier records link states (*tracker.Tracker).
type Applier interface {
	Apply(ctx context.Context, b tracker.Batch) ([]*event.Event, error)
}

// Options configure the app.
type Options struct {
	Replicas  int       // of the bucket
	Inventory Inventory // nil: match among polled devices only
	Tracker   Applier   // link events; nil: none
	Logger    *slog.Logger
	Now       func() time.Time
}

// App is one node's topology app.
type App struct {
	st  *store
	inv Inventory
	tr  Applier
	log *slog.Logger
	now func() time.Time

	mu        sync.Mutex
	cached    *Graph
	cachedVer uint64
	cachedAt  time.Time

	rmu        sync.Mutex
	reconciled map[string]map[string]Link // device key → its links (as A end) last recorded
}

// Open opens the records bucket and loads every record; Close stops the
// watch that keeps them current.
func Open(ctx context.Context, js jetstream.JetStream, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := openStore(ctx, js, o.Replicas, o.Logger)
	if err != nil {
		return nil, err
	}
	if err := st.watch(ctx); err != nil {
		return nil, err
	}
	return &App{st: st, inv: o.Inventory, tr: o.Tracker, log: o.Logger, now: o.Now, reconciled: map[string]map[string]Link{}}, nil
}

// Close stops the app's watch.
func (a *App) Close() error {
	a.st.stop()
	return nil
}

// Subjects are the metrics subjects the app reads.
func Subjects() []string { return []string{wire.MetricsPrefix + "*." + GroupType} }

// Write feeds a batch read from the bus (the app runs as a durable
// consumer of the metrics stream, like a sink). An error hands the batch
// back; applying it again changes nothing.
func (a *App) Write(ctx context.Context, batch []sink.Record) error {
	groups := make([]*metric.Group, 0, len(batch))
	for i := range batch {
		if batch[i].Group != nil {
			groups = append(groups, batch[i].Group)
		}
	}
	return a.Handle(ctx, groups)
}

var _ sink.Sink = (*App)(nil)

// Handle folds neighbour groups into their devices' records: one
// compare-and-set per device.
func (a *App) Handle(ctx context.Context, groups []*metric.Group) error {
	byDevice := map[string][]*metric.Group{}
	var order []string
	for _, g := range groups {
		if g.Type != GroupType || g.Resource == nil {
			continue
		}
		k := g.Resource.Key()
		if _, ok := byDevice[k]; !ok {
			order = append(order, k)
		}
		byDevice[k] = append(byDevice[k], g)
	}
	var errs []error
	for _, k := range order {
		gs := byDevice[k]
		if err := a.st.update(ctx, gs[0].Resource, gs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Graph is the graph now, built from the records this node holds; built
// again when they changed or a second passed (neighbours age).
func (a *App) Graph() *Graph {
	records, ver := a.st.snapshot()
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cached != nil && ver == a.cachedVer && now.Sub(a.cachedAt) < time.Second {
		return a.cached
	}
	var inv []*resource.Resource
	if a.inv != nil {
		inv = a.inv.Snapshot()
	}
	a.cached, a.cachedVer, a.cachedAt = Build(records, inv, epoch(now)), ver, now
	return a.cached
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Reconcile records the links of the graph now as link states: a link that
// appeared is an "added" event, one that is gone a "removed" one (once
// across the cluster: the tracker's compare-and-set). Only devices whose
// links changed since this node's last pass are applied; the first pass
// applies every device. Run it on one node (Run: the lease holder): two
// nodes with different views of the records would disagree.
func (a *App) Reconcile(ctx context.Context) ([]*event.Event, error) {
	if a.tr == nil {
		return nil, nil
	}
	g := a.Graph()
	byDevice := map[string]map[string]Link{}
	res := map[string]*resource.Resource{}
	for _, d := range g.Devices {
		byDevice[d.Key] = map[string]Link{}
		res[d.Key] = d.res
	}
	for _, l := range g.Links {
		byDevice[l.A.key][l.ID] = l
	}
	a.rmu.Lock()
	defer a.rmu.Unlock()
	keys := make([]string, 0, len(byDevice))
	for k := range byDevice {
		keys = append(keys, k)
	}
	for k := range a.reconciled {
		if _, ok := byDevice[k]; !ok {
			keys = append(keys, k) // a device that left the graph: its links are gone
		}
	}
	sort.Strings(keys)
	var all []*event.Event
	var errs []error
	for _, k := range keys {
		links := byDevice[k]
		prev, known := a.reconciled[k]
		if known && sameLinks(prev, links) {
			continue
		}
		r := res[k]
		if r == nil {
			for _, l := range prev {
				r = resourceOfEnd(l.A)
			}
		}
		if r == nil {
			delete(a.reconciled, k)
			continue
		}
		b := tracker.Batch{Kind: event.KindLink, Resource: r, At: g.Built, Complete: true, AnnounceAdded: true,
			Gone: tracker.Observation{State: "removed", Problem: true}, GoneLabels: map[string]map[string]string{}}
		for id, l := range links {
			b.Objects = append(b.Objects, tracker.Observation{Object: id, State: "up", Labels: linkLabels(l)})
		}
		sort.Slice(b.Objects, func(i, j int) bool { return b.Objects[i].Object < b.Objects[j].Object })
		for id, l := range prev {
			b.GoneLabels[id] = linkLabels(l)
		}
		es, err := a.tr.Apply(ctx, b)
		if err != nil {
			errs = append(errs, fmt.Errorf("links of %s: %w", r.ID, err))
			continue
		}
		all = append(all, es...)
		if _, inGraph := byDevice[k]; inGraph {
			a.reconciled[k] = links
		} else {
			delete(a.reconciled, k)
		}
	}
	return all, errors.Join(errs...)
}

func sameLinks(a, b map[string]Link) bool {
	if len(a) != len(b) {
		return false
	}
	for id := range a {
		if _, ok := b[id]; !ok {
			return false
		}
	}
	return true
}

// resourceOfEnd is a minimal resource for a device known only by a link
// end (its record and inventory entry are gone): enough to key its state.
func resourceOfEnd(e End) *resource.Resource {
	parts := strings.SplitN(e.key, "|", 5)
	if len(parts) != 5 {
		return nil
	}
	return &resource.Resource{Site: parts[0], Class: parts[1], Subclass: parts[2], Type: parts[3], ID: parts[4], Endpoint: parts[4]}
}

func linkLabels(l Link) map[string]string {
	seen := "both"
	switch {
	case l.AView == nil:
		seen = "b"
	case l.BView == nil:
		seen = "a"
	}
	return map[string]string{"a_device": l.A.Device, "a_port": l.A.Port, "b_device": l.B.Device, "b_port": l.B.Port, "seen_by": seen}
}

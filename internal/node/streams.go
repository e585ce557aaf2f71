package node

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// inputInstance is one configured streaming input, ready to run.
type inputInstance struct {
	inst   *input.Instance
	filter *resource.Filter
	rates  rate.Selector
}

// appInstance is one configured app.
type appInstance struct {
	name, typ string
	app       apps.App
}

// buildStreams builds the streaming inputs and apps of cfg (see build);
// logger (nil: none) is the inputs' (a stream's reconnects and refusals).
func buildStreams(cfg *config.Config, p *parts, reg prometheus.Registerer, logger *slog.Logger) []error {
	var errs []error
	for i, ic := range cfg.Inputs {
		path := fmt.Sprintf("inputs[%d]", i)
		if ic.Plugin == "" {
			continue // config.Validate reported it
		}
		deps := input.Deps{Name: ic.Name, Interval: ic.Interval.D(), Registerer: reg}
		if logger != nil {
			deps.Logger = logger.With("component", "input", "input", ic.Name)
		}
		in, err := input.Build(ic.Plugin, ic.Options, deps)
		if err != nil {
			errs = append(errs, cfg.Locate("inputs", i, "plugin", err))
			continue
		}
		f, err := resource.ParseFilter(ic.Filter)
		if err != nil {
			errs = append(errs, cfg.Errorf(path+".filter", "%v", err))
			continue
		}
		rates, err := rate.ParseSelector(ic.Rates)
		if err != nil {
			errs = append(errs, cfg.Errorf(path+".rates", "%v", err))
			continue
		}
		p.inputs = append(p.inputs, inputInstance{inst: &input.Instance{Name: ic.Name, Interval: ic.Interval.D(), Input: in}, filter: f, rates: rates})
	}
	for i, ac := range cfg.Apps {
		if ac.Plugin == "" {
			continue // config.Validate reported it
		}
		a, err := apps.Build(ac.Plugin, ac.Options, apps.Deps{Name: ac.Name, Site: cfg.Site, Registerer: reg})
		if err != nil {
			errs = append(errs, cfg.Locate("apps", i, "plugin", err))
			continue
		}
		p.apps = append(p.apps, appInstance{name: ac.Name, typ: ac.Plugin, app: a})
	}
	return errs
}

// wantedStreams are the streams of the resources this node owns (the
// same ownership as checks), one per matching input.
func (n *Node) wantedStreams(snap []*resource.Resource, owned map[string]bool) []input.Want {
	if len(n.parts.inputs) == 0 {
		return nil
	}
	var want []input.Want
	for _, res := range snap {
		if res.Site != n.cfg.Site || !owned[res.Key()] {
			continue
		}
		for i := range n.parts.inputs {
			ii := &n.parts.inputs[i]
			if ii.filter.Match(res) {
				want = append(want, input.Want{Instance: ii.inst, Resource: res})
			}
		}
	}
	return want
}

// emitStream publishes what a stream delivered, with its instance's rates
// (the collector's Emit).
func (n *Node) emitStream(inst *input.Instance, set *metric.GroupSet) {
	var sel rate.Selector
	for i := range n.parts.inputs {
		if n.parts.inputs[i].inst == inst {
			sel = n.parts.inputs[i].rates
			break
		}
	}
	n.col.Emit(inst.Name, inst.Interval, sel, set)
}

// runApps runs the apps whose role this node has until ctx ends, after
// creating the events stream they write to. An app that fails is logged;
// the others and the node go on.
func (n *Node) runApps(ctx context.Context, handle func(string, http.Handler)) {
	var mine []appInstance
	for _, a := range n.parts.apps {
		if n.cfg.HasRole(a.typ) {
			mine = append(mine, a)
		}
	}
	if len(mine) == 0 {
		return
	}
	js := n.bus.JetStream()
	err := n.whileForming(ctx, "create the events stream", func(ctx context.Context) error {
		return event.EnsureStream(ctx, js, n.cfg.Bus.Replicas)
	})
	if err != nil {
		n.log.Error("apps not started", "err", err)
		return
	}
	var wg sync.WaitGroup
	for _, a := range mine {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := n.log.With("app", a.name)
			env := &apps.Env{Name: a.name, Site: n.cfg.Site, JS: js, Replicas: n.cfg.Bus.Replicas, Handle: handle, Owner: partitionOwner{n}, Logger: log}
			if err := a.app.Run(ctx, env); err != nil && ctx.Err() == nil {
				log.Error("app stopped", "type", a.typ, "err", err)
			}
		}()
	}
	wg.Wait()
}

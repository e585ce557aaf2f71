package poller

import (
	"errors"
	"maps"
	"slices"

	"github.com/panoptes-go/panoptes/internal/collector"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/poll"
)

// Reload applies a config reload to polling: the polling plugins and
// streaming inputs d names as added or changed are taken from plugins and
// inputs (the new config's, built), the others keep their running
// instances (and whatever state those hold) unless the files one read
// changed (a profile edited: Fingerprint), removed ones go; with new
// SNMP settings, targets are resolved with snmp from now on and the
// sessions of credentials it no longer has are closed. Then it
// reconciles: a check keeps its schedule and phase unless its plugin's
// interval changed (collector.SetPlugins), a stream runs on unless its
// input changed (input.Runner keeps a stream whose instance is the same).
// A changed polling.max_concurrent_checks is the scheduler's limit at once.
func (p *Poller) Reload(plugins []collector.Plugin, inputs []*input.Instance, snmp poll.SNMPOptions, polling config.Polling, d config.Diff) error {
	old := map[string]collector.Plugin{}
	for _, pl := range p.col.Plugins() {
		old[pl.Name] = pl
	}
	for i, pl := range plugins {
		if o, ok := old[pl.Name]; ok && !d.Plugins.Touched(pl.Name) {
			if filesChanged(o.Plugin, pl.Plugin) {
				p.o.Logger.Info("config reload: the files of polling plugin changed; it is replaced", "plugin", pl.Name)
				continue
			}
			plugins[i] = o
		}
	}
	if p.state.Rates == nil && collector.UsesHistory(plugins) {
		return errors.New("restart needed for polling.plugins[].rates: no plugin kept previous samples at the start, so this node has no rate state (or a plugin that uses delta() was added)")
	}
	p.mu.Lock()
	oldIn := map[string]*input.Instance{}
	for _, in := range p.inputs {
		oldIn[in.Name] = in
	}
	for i, in := range inputs {
		if o, ok := oldIn[in.Name]; ok && !d.Inputs.Touched(in.Name) {
			inputs[i] = o
		}
	}
	p.inputs = inputs
	if d.LiveChanged("snmp") {
		p.runner.SetSNMP(snmp)
		p.enrichment.SetSNMP(snmp)
	}
	if d.LiveChanged("polling.max_concurrent_checks") {
		p.sched.SetMaxConcurrent(polling.MaxConcurrentChecks)
	}
	p.col.SetPlugins(plugins)
	p.mu.Unlock()
	p.Reconcile()
	if d.LiveChanged("snmp") {
		// No session (nor its secret) of a rotated credential outlives the
		// reload. After Reconcile: checks resolved with the old credential
		// no longer start, so only runs in flight close their sessions.
		p.pool.Retain(slices.Collect(maps.Values(snmp.Credentials)))
	}
	return nil
}

// fingerprinter is a plugin that read files its options do not show (the
// profile plugin's profiles): its fingerprint says whether they changed.
type fingerprinter interface{ Fingerprint() string }

// filesChanged reports whether the running and the newly built instance
// of an unchanged plugin read different files.
func filesChanged(running, built poll.Plugin) bool {
	a, ok1 := running.(fingerprinter)
	b, ok2 := built.(fingerprinter)
	return ok1 && ok2 && a.Fingerprint() != b.Fingerprint()
}

// Package parts builds the plugin instances a config names — polling
// plugins, discovery sources, sinks, streaming inputs and apps — from
// their families' registries, without starting any, so that a bad config
// fails (file:line: key: reason) before the bus or a listener opens. The
// node runs what it builds; a config reload builds the new config's parts
// the same way.
package parts

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/collector"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Parts are the plugin instances of a config, built, not started. Sinks
// are checked only: the node builds them with its own dependencies.
type Parts struct {
	Plugins []collector.Plugin
	Sources map[string]discovery.Source // by source name
	Inputs  []*input.Instance
	Apps    []apps.Instance
}

// Check builds every plugin, source and sink from cfg without starting any,
// reporting problems as file:line: key: reason.
func Check(cfg *config.Config) error {
	_, err := Build(cfg, nil, nil)
	return err
}

// Build builds the parts; reg receives the self-metrics of the inputs and
// apps that have some, logger (nil: none) is the inputs' (Check's: none).
func Build(cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (*Parts, error) {
	var errs []error
	p := &Parts{Sources: map[string]discovery.Source{}}
	for i, pc := range cfg.Polling.Plugins {
		path := fmt.Sprintf("polling.plugins[%d]", i)
		if pc.Plugin == "" {
			continue // config.Validate reported it
		}
		plug, err := poll.Build(pc.Plugin, pc.Options)
		if err != nil {
			errs = append(errs, cfg.Locate("polling.plugins", i, "plugin", err))
			continue
		}
		f, rates, err := filterAndRates(cfg, path, pc.Filter, pc.Rates)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Plugins = append(p.Plugins, collector.Plugin{Name: pc.Name, Interval: pc.Interval.D(), Timeout: pc.Timeout.D(), Filter: f, Plugin: plug, Rates: rates})
	}
	d := cfg.Discovery.Defaults
	defaults := discovery.Defaults{Site: d.Site, Class: d.Class, Subclass: d.Subclass, Type: d.Type}
	for i, sc := range cfg.Discovery.Sources {
		if sc.Plugin == "" {
			continue // config.Validate reported it
		}
		src, err := discovery.Build(sc.Plugin, sc.Options, discovery.Deps{Name: sc.Name, Defaults: defaults})
		if err != nil {
			errs = append(errs, cfg.Locate("discovery.sources", i, "plugin", err))
			continue
		}
		p.Sources[sc.Name] = src
	}
	for i, sc := range cfg.Sinks {
		if sc.Type == "" {
			continue // config.Validate reported it
		}
		if _, err := sink.New(sc, sink.Deps{}); err != nil {
			errs = append(errs, cfg.Locate("sinks", i, "type", err))
		}
	}
	for i, ic := range cfg.Inputs {
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
		f, rates, err := filterAndRates(cfg, fmt.Sprintf("inputs[%d]", i), ic.Filter, ic.Rates)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Inputs = append(p.Inputs, &input.Instance{Name: ic.Name, Interval: ic.Interval.D(), Input: in, Filter: f, Rates: rates})
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
		p.Apps = append(p.Apps, apps.Instance{Name: ac.Name, Type: ac.Plugin, App: a})
	}
	if len(cfg.SNMP.Credentials) == 0 && len(cfg.Polling.Plugins) > 0 {
		errs = append(errs, cfg.Errorf("snmp.credentials", "no SNMP credentials are configured; add one named %q (see README.md)", cfg.SNMP.Credential))
	}
	return p, errors.Join(errs...)
}

// filterAndRates parses an instance's filter and rates (config.Validate
// reported their problems already; these name the key again).
func filterAndRates(cfg *config.Config, path, filter string, rates any) (*resource.Filter, rate.Selector, error) {
	f, err := resource.ParseFilter(filter)
	if err != nil {
		return nil, rate.Selector{}, cfg.Errorf(path+".filter", "%v", err)
	}
	sel, err := rate.ParseSelector(rates)
	if err != nil {
		return nil, rate.Selector{}, cfg.Errorf(path+".rates", "%v", err)
	}
	return f, sel, nil
}

// SNMPOptions converts the config's snmp block into what poll builds
// targets from: the config stays out of poll and snmp.
func SNMPOptions(c config.SNMP) poll.SNMPOptions {
	o := poll.SNMPOptions{
		Port: c.Port, Timeout: c.Timeout.D(), Retries: c.Retries, MaxRepetitions: c.MaxRepetitions,
		Credential: c.Credential, Credentials: make(map[string]*snmp.Credential, len(c.Credentials)),
	}
	for name, cred := range c.Credentials {
		sc := cred.SNMP() // one per name, shared by its targets
		o.Credentials[name] = &sc
	}
	return o
}

// Classify wraps the sources that ask for it (classify: true) in SNMP
// classification by prober (the node's sessions).
func (p *Parts) Classify(cfg *config.Config, prober discovery.Prober, logger *slog.Logger, reg prometheus.Registerer) {
	for _, sc := range cfg.Discovery.Sources {
		if !sc.Classify || p.Sources[sc.Name] == nil {
			continue
		}
		p.Sources[sc.Name] = discovery.Classify(p.Sources[sc.Name], prober,
			discovery.ClassifyOptions{Source: sc.Name, DefaultType: cfg.Discovery.Defaults.Type, TTL: sc.ClassifyTTL.D(),
				Logger: logger.With("component", "discovery", "source", sc.Name), Registerer: reg})
	}
}

// PoolOptions are the SNMP session pool's settings from the snmp block,
// logging to logger and registering its metrics on reg.
func PoolOptions(c config.SNMP, logger *slog.Logger, reg prometheus.Registerer) snmp.PoolOptions {
	// Sessions are kept for reuse within a check and between frequent polls;
	// a device polled once a minute reopens its session (64 KiB of gosnmp
	// buffer each, so keeping 10,000 idle would cost 640 MiB).
	return snmp.PoolOptions{MaxRequestsPerDevice: c.MaxRequestsPerDevice, IdleTimeout: 10 * time.Second, MaxIdleSessions: 4096,
		ConnectedSockets: c.Transport == config.SNMPTransportConnected, Logger: logger, Registerer: reg}
}

// Sinks builds the sinks of cfg with deps: a node's consumers, none
// without the consumer role.
func Sinks(cfg *config.Config, deps sink.Deps) ([]*sink.Consumer, error) {
	if !cfg.HasRole(config.RoleConsumer) {
		return nil, nil
	}
	var out []*sink.Consumer
	for _, sc := range cfg.Sinks {
		c, err := sink.New(sc, deps)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ConsumerNames are the bus consumers the node of cfg runs (its sinks and
// the apps of its roles), which it shares with the other nodes running
// them (cluster.Member.Consumers).
func ConsumerNames(cfg *config.Config) []string {
	var out []string
	for _, sc := range cfg.Sinks {
		if cfg.HasRole(config.RoleConsumer) {
			out = append(out, sc.Name)
		}
	}
	for _, ac := range cfg.Apps {
		if cfg.HasRole(ac.Plugin) {
			out = append(out, apps.ConsumerName(ac.Name))
		}
	}
	return out
}

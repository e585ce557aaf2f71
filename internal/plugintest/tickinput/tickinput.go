// Package tickinput is a throwaway streaming input, "tick": each resource's
// stream emits, every interval, a group with a counter that counts the
// stream's ticks, then a status group, until it is stopped.
package tickinput

import (
	"context"
	"time"

	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

func init() { input.Register("tick", New) }

// Config is the input's options block.
type Config struct {
	Group string `yaml:"group"` // the group type (default "tick")
}

// Tick opens one ticking stream per resource.
type Tick struct {
	c        Config
	name     string
	interval time.Duration
}

// New is the factory: decode, check, no side effects.
func New(options plugin.Block, deps input.Deps) (input.Input, error) {
	c := Config{Group: "tick"}
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if c.Group == "" || c.Group == input.StatusGroupType {
		return nil, plugin.Errorf("group", "%q is not a group type of its own; name one", c.Group)
	}
	return &Tick{c: c, name: deps.Name, interval: deps.Interval}, nil
}

// Open makes res's stream.
func (t *Tick) Open(res *resource.Resource) (input.Stream, error) {
	return &stream{t: t, res: res}, nil
}

type stream struct {
	t   *Tick
	res *resource.Resource
}

// Run emits a tick every interval until ctx ends.
func (s *stream) Run(ctx context.Context, emit func(*metric.GroupSet)) error {
	tk := time.NewTicker(s.t.interval)
	defer tk.Stop()
	for n := int64(1); ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tk.C:
			at := float64(now.UnixNano()) / 1e9
			iv := int(s.t.interval / time.Second)
			emit(&metric.GroupSet{Groups: []*metric.Group{
				{Resource: s.res, Type: s.t.c.Group, Interval: iv, CreationTimestamp: at, SchemaVersion: metric.SchemaVersion,
					Metrics: []metric.Metric{{Name: "ticks", Value: metric.Int(n), Type: metric.Counter, Timestamp: at}}},
				{Resource: s.res, Type: input.StatusGroupType, Interval: iv, CreationTimestamp: at, SchemaVersion: metric.SchemaVersion,
					Metrics:    []metric.Metric{{Name: input.StatusMetric, Value: metric.Int(0), Type: metric.Gauge, Timestamp: at}},
					Dimensions: []metric.Dimension{{Name: input.PluginDimension, Value: s.t.name}}},
			}})
		}
	}
}

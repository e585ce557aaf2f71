// Package constcheck is a throwaway polling plugin, "constant": every check
// emits one group with a constant gauge, and needs no SNMP.
package constcheck

import (
	"context"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/poll"
)

func init() { poll.Register("constant", New) }

// Config is the plugin's options block.
type Config struct {
	Group string  `yaml:"group"` // the group type (default "constant")
	Value float64 `yaml:"value"` // the gauge's value
}

// Constant emits Value as gauge "value" in a group of type Group.
type Constant struct{ c Config }

// New is the factory.
func New(options plugin.Block) (poll.Plugin, error) {
	c := Config{Group: "constant"}
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if c.Group == "" || c.Group == "status" {
		return nil, plugin.Errorf("group", "%q cannot be this plugin's group type", c.Group)
	}
	return &Constant{c: c}, nil
}

// NoSNMP tells the runner the plugin needs no SNMP target.
func (*Constant) NoSNMP() bool { return true }

// Poll emits the group.
func (p *Constant) Poll(_ context.Context, req *poll.Request) ([]*metric.Group, error) {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	ts := float64(now.UnixMilli()) / 1000
	return []*metric.Group{{
		Resource: req.Resource, Type: p.c.Group, Interval: int(req.Interval / time.Second), CreationTimestamp: ts,
		SchemaVersion: metric.SchemaVersion,
		Metrics:       []metric.Metric{{Name: "value", Value: metric.Float(p.c.Value), Type: metric.Gauge, Timestamp: ts}},
	}}, nil
}

package discovery

import (
	"context"
	"errors"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/service"
)

// Plan is what a node's discovery runs, and when: the sources built (by
// name), their configs (in order) and how often; while Leader reports
// true (this node leads Site), asked again at every Nudges.
type Plan struct {
	Sources  map[string]Source
	Configs  []config.Source
	Interval time.Duration
	Site     string
	Leader   func() bool
	Nudges   <-chan struct{}
}

// Lead runs the plan (see Run) while this node leads its site and stops it
// when it no longer does, until ctx ends: only one node of a site runs
// discovery. It returns nil.
func (m *Manager) Lead(ctx context.Context, p Plan) error {
	service.While(ctx, p.Leader, p.Nudges, func(ctx context.Context) {
		if err := m.Run(ctx, p.Sources, p.Configs, p.Interval); err != nil && !errors.Is(err, context.Canceled) {
			m.log.Error("discovery stopped", "err", err)
		}
	}, func(on bool) {
		if on {
			m.log.Info("discovery started: this node leads site " + p.Site)
		} else {
			m.log.Info("discovery stopped: no longer leader")
		}
	})
	return nil
}

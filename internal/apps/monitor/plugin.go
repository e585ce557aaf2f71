package monitor

import (
	"context"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { apps.Register("events", factory) }

// Config is the app's options block: it has no option yet (an empty block
// or none).
type Config struct{}

func factory(options plugin.Block, deps apps.Deps) (apps.App, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	return &nodeApp{deps: deps}, nil
}

// nodeApp is the app as the apps family runs it: Run again after a
// failure (the bus not ready yet, a lost connection).
type nodeApp struct{ deps apps.Deps }

// Run runs the app until ctx ends.
func (a *nodeApp) Run(ctx context.Context, env *apps.Env) error {
	bo := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	for {
		err := Run(ctx, env.JS, RunOptions{Name: env.Name, Replicas: env.Replicas, Owner: env.Owner, Logger: env.Logger, Registerer: a.deps.Registerer})
		if ctx.Err() != nil {
			return nil
		}
		env.Logger.Warn("events app stopped; starting it again", "err", err)
		if bo.Wait(ctx) != nil {
			return nil
		}
	}
}

package topology

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { apps.Register("topology", factory) }

// Config is the app's options block.
type Config struct {
	// ReconcileInterval is how often link changes are recorded as events
	// (default 30s).
	ReconcileInterval plugin.Duration `yaml:"reconcile_interval"`
}

func factory(options plugin.Block, deps apps.Deps) (apps.App, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if d := c.ReconcileInterval.D(); d < 0 || d != 0 && d < time.Second {
		return nil, plugin.Errorf("reconcile_interval", "%s is too short; give at least 1s", d)
	}
	return &nodeApp{interval: c.ReconcileInterval.D(), deps: deps}, nil
}

// nodeApp is the app as the apps family runs it: Run again after a
// failure (the bus not ready yet, a lost connection), its handler mounted
// once and pointing at the current run's graph.
type nodeApp struct {
	interval time.Duration
	deps     apps.Deps
	current  atomic.Pointer[http.Handler]
}

// Run runs the app until ctx ends.
func (a *nodeApp) Run(ctx context.Context, env *apps.Env) error {
	if env.Handle != nil {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cur := a.current.Load(); cur != nil {
				(*cur).ServeHTTP(w, r)
				return
			}
			http.Error(w, "the topology app is starting", http.StatusServiceUnavailable)
		})
		for _, p := range Paths {
			mount(env, p, h)
		}
	}
	bo := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	for {
		err := Run(ctx, env.JS, RunOptions{Name: env.Name, Replicas: env.Replicas, ReconcileInterval: a.interval, Owner: env.Owner,
			Handle: func(_ string, h http.Handler) { a.current.Store(&h) }, Logger: env.Logger, Registerer: a.deps.Registerer})
		if ctx.Err() != nil {
			return nil
		}
		env.Logger.Warn("topology app stopped; starting it again", "err", err)
		if bo.Wait(ctx) != nil {
			return nil
		}
	}
}

// mount serves h under pattern. The node's server replaces the handler of
// a pattern mounted again (httpd.Server.Handle), so the instance started
// last serves the graph: the new one after a config reload restarted the
// app, the second of two configured on one node. A server that refuses
// the pattern (its mux panics on a conflicting one) leaves the app
// running without its page.
func mount(env *apps.Env, pattern string, h http.Handler) {
	defer func() {
		if r := recover(); r != nil {
			env.Logger.Warn("topology app: the graph cannot be served under this pattern on this node", "pattern", pattern, "err", r)
		}
	}()
	env.Handle(pattern, h)
}

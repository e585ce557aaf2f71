// Package service gives every long-running component of a process one
// lifecycle, and declares in one place the order in which they start and
// stop.
//
// A Service is up to three functions: Start brings the component up and
// returns once it works (a bucket open, a port bound), Run does its work
// until its context ends, Stop releases what Start took. A Group starts its
// services in the order they were added and stops them in the reverse
// order, each completely (Run returned, Stop done) before the one added
// before it: a component stops before everything it uses. A step of the
// shutdown that must come between two components is a service of its own
// with only a Stop, added between them. The group is ready (OnReady,
// Ready) from when every service has started until its stop begins.
//
// A Set runs a changing set of components of one kind, keyed by name, as
// one service: a config reload puts, replaces or removes members while
// the others keep running.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Service is one long-running component. Every function is optional.
type Service struct {
	// Name names the service in logs and errors.
	Name string
	// Start brings the component up. Its ctx is the group's: it ends
	// when the process is asked to stop while starting. An error stops
	// the services started before, in reverse order, and ends the group.
	Start func(ctx context.Context) error
	// Run works until its ctx ends, which is when the service's turn to
	// stop comes, not when the group's ctx ends. Returning before that
	// with an error stops the whole group (a component whose failure
	// must not stop the process logs it and returns nil).
	Run func(ctx context.Context) error
	// Stop runs after Run returned. Its ctx carries the group's values
	// but never ends: a Stop bounds its own waits. An error is logged.
	Stop func(ctx context.Context) error
	// Early ends Run's ctx as soon as the stop begins instead of at the
	// service's turn: it winds down beside the stops of the services after
	// it, and its turn waits for it (work that must not delay the first
	// steps of a stop, nor outlive the services it uses).
	Early bool
}

// Group runs services: Run starts them in the order they were added, and
// stops them in the reverse order.
type Group struct {
	log      *slog.Logger
	services []Service
	// OnReady, when set, is told true once every service has started and
	// false when the stop begins, before any service stops (readiness,
	// systemd's notifications).
	OnReady func(ready bool)

	mu             sync.Mutex
	started, ready bool
	// busy is held for reading by WhileReady's work and for writing by
	// the stop once readiness is false: the stop waits for work in hand.
	busy sync.RWMutex
}

// ErrNotReady is WhileReady's answer before every service started or
// once the stop began.
var ErrNotReady = errors.New("starting or stopping: try again once it is ready")

// WhileReady runs work only while the group is ready, and the stop waits
// for it before any service stops: work that changes running services
// (a config reload) never races their stop.
func (g *Group) WhileReady(work func() error) error {
	g.busy.RLock()
	defer g.busy.RUnlock()
	if !g.Ready() {
		return ErrNotReady
	}
	return work()
}

// Started reports whether every service has started (and stays true
// while they stop): everything the services built exists.
func (g *Group) Started() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started
}

// Ready reports whether every service has started and the stop has not
// begun.
func (g *Group) Ready() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ready
}

func (g *Group) setReady(v bool) {
	g.mu.Lock()
	g.started = g.started || v
	changed := g.ready != v
	g.ready = v
	g.mu.Unlock()
	if changed && g.OnReady != nil {
		g.OnReady(v)
	}
}

// NewGroup returns an empty group that logs to log (nil: nowhere).
func NewGroup(log *slog.Logger) *Group {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Group{log: log}
}

// Add appends services, started after those added before and stopped
// before them.
func (g *Group) Add(s ...Service) { g.services = append(g.services, s...) }

// Names lists the services in start order.
func (g *Group) Names() []string {
	out := make([]string, len(g.services))
	for i, s := range g.services {
		out[i] = s.Name
	}
	return out
}

// running is a started service.
type running struct {
	svc    *Service
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned (at once without Run)
	err    error         // Run's error, read after done
}

// Run starts every service in order, then waits until ctx ends or a
// service's Run fails, then stops them all in reverse order. It returns the
// error that ended it early (a Start's or a Run's, naming the service),
// nil after a stop asked for through ctx.
func (g *Group) Run(ctx context.Context) error {
	failed := make(chan struct{}, 1) // a Run returned an error before its stop
	var started []*running
	var startErr error
	for i := range g.services {
		s := &g.services[i]
		if s.Start != nil {
			if err := s.Start(ctx); err != nil {
				startErr = fmt.Errorf("start %s: %w", s.Name, err)
				break
			}
		}
		r := &running{svc: s, done: make(chan struct{})}
		started = append(started, r)
		if s.Run == nil {
			close(r.done)
			continue
		}
		var rctx context.Context
		rctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
		go func() {
			if err := s.Run(rctx); err != nil && rctx.Err() == nil {
				r.err = err
			}
			close(r.done) // before failed: the group reads r.err when told
			if r.err != nil {
				select {
				case failed <- struct{}{}:
				default:
				}
			}
		}()
	}
	var runErr error
	if startErr == nil {
		g.setReady(true)
		select {
		case <-ctx.Done():
		case <-failed:
			for _, r := range started {
				select {
				case <-r.done:
					if r.err != nil && runErr == nil {
						runErr = fmt.Errorf("%s: %w", r.svc.Name, r.err)
					}
				default:
				}
			}
			g.log.Error("stopping: a component failed", "err", runErr)
		}
	}
	g.setReady(false)
	g.busy.Lock() // WhileReady's work in hand ends; new work sees not ready
	g.busy.Unlock()
	for _, r := range started {
		if r.svc.Early && r.cancel != nil {
			r.cancel()
		}
	}
	g.stop(context.WithoutCancel(ctx), started)
	return errors.Join(startErr, runErr)
}

// stop stops the started services in reverse order.
func (g *Group) stop(ctx context.Context, started []*running) {
	for i := len(started) - 1; i >= 0; i-- {
		r := started[i]
		begin := time.Now()
		if r.cancel != nil {
			r.cancel()
		}
		<-r.done
		if r.svc.Stop != nil {
			if err := r.svc.Stop(ctx); err != nil {
				g.log.Warn("stop "+r.svc.Name, "err", err)
			}
		}
		g.log.Debug("stopped", "service", r.svc.Name, "took", time.Since(begin).Round(time.Millisecond))
	}
}

// Each runs one goroutine per item, each f(ctx, item), and returns when all
// have returned, with their errors joined: a Run for several components of
// one kind (the sinks).
func Each[T any](ctx context.Context, items []T, f func(context.Context, T) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(items))
	for i, it := range items {
		wg.Go(func() { errs[i] = f(ctx, it) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// While runs run for as long as on reports true, until ctx ends: it asks
// on at the start and at every nudge, starts run when the answer turns
// true and, when it turns false, cancels run's ctx and waits for it (as
// the site's leader runs discovery). changed, when not nil, is told each
// turn. While returns after run returned.
func While(ctx context.Context, on func() bool, nudges <-chan struct{}, run func(context.Context), changed func(on bool)) {
	var stop func() // cancels the running run and waits; nil when not running
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		switch now := on(); {
		case now && stop == nil:
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); run(rctx) }()
			stop = func() { cancel(); <-done }
			if changed != nil {
				changed(true)
			}
		case !now && stop != nil:
			stop()
			stop = nil
			if changed != nil {
				changed(false)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-nudges:
		}
	}
}

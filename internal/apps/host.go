package apps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/jserr"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// Instance is one configured app.
type Instance struct {
	Name, Type string
	App        App
}

// Host is what a node gives the apps it runs: each gets an Env of its own.
type Host struct {
	Site     string
	JS       jetstream.JetStream
	Replicas int
	Handle   func(pattern string, h http.Handler)
	Owner    sink.Owner // which metrics partitions this node's instances read
	Logger   *slog.Logger
	// Forming retries the events stream's creation while the JetStream
	// cluster forms (nil: none); Prepare goes on retrying after it.
	Forming func(ctx context.Context, what string, op func(context.Context) error) error

	retry backoff.Backoff // after Forming gave up; zero: retryMin to retryMax
	// refusedWait is the least wait after a refusal; zero: refusedRetry.
	refusedWait time.Duration
	once        sync.Once
	turn        chan struct{} // one Prepare at a time
	prepared    bool          // under turn
}

const (
	retryMin     = time.Second
	retryMax     = 30 * time.Second
	retryAttempt = 10 * time.Second // one stream request
	refusedRetry = time.Minute      // after the server refused the stream
)

// refused reports whether the server answered the request with an error
// waiting does not fix (a configuration it does not take); others (no
// quorum, timeouts, a closed connection) are the cluster not being ready.
func refused(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && !jserr.NotReady(err)
}

// Prepare creates the events stream the apps write to, before the first
// app runs; concurrent calls wait for the one at work. While the JetStream
// cluster cannot take the request (no quorum, fewer servers than
// bus.replicas) it retries for as long as ctx lives, not only for
// bus.connect_retry: an operator can fix the cluster without restarting
// panoptes, and the apps must start then. A request the server refuses
// is retried too, every minute with an error logged: an operator can fix
// that as well (a conflicting stream deleted). All apps wait together, so
// none starts without the others.
func (h *Host) Prepare(ctx context.Context) error {
	h.once.Do(func() { h.turn = make(chan struct{}, 1) })
	select { // not a mutex: a removed app's Run must not wait for another's Prepare
	case h.turn <- struct{}{}:
		defer func() { <-h.turn }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if h.prepared {
		return nil
	}
	err := h.create(ctx)
	h.prepared = err == nil
	return err
}

func (h *Host) create(ctx context.Context) error {
	create := func(ctx context.Context) error { return event.EnsureStream(ctx, h.JS, h.Replicas) }
	var err error
	if h.Forming == nil {
		err = create(ctx)
	} else {
		err = h.Forming(ctx, "create the events stream", create)
	}
	bo := h.retry
	if bo.Min == 0 {
		bo = backoff.Backoff{Min: retryMin, Max: retryMax}
	}
	for attempt := 1; err != nil; attempt++ {
		if ctx.Err() != nil {
			return err
		}
		wait := bo.Next()
		if refused(err) {
			// Waiting alone will not fix it, but an operator can (delete a
			// conflicting stream, add servers) without restarting panoptes:
			// retried, slowly and loudly.
			wait = max(wait, cmp.Or(h.refusedWait, refusedRetry))
			h.Logger.Error("apps not started: the server refused the events stream; retrying", "attempt", attempt,
				"retry_in", wait.Round(time.Millisecond), "err", err,
				"check", fmt.Sprintf("bus.replicas against the JetStream cluster's size, and an existing %s stream's configuration", event.Stream))
		} else {
			h.Logger.Warn("apps not started yet: the events stream cannot be created; retrying", "attempt", attempt,
				"retry_in", wait.Round(time.Millisecond), "err", err,
				"check", "the JetStream cluster has a quorum (a majority of its servers up) and at least bus.replicas servers")
		}
		if backoff.Sleep(ctx, wait) != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, retryAttempt)
		if err = create(actx); err == nil {
			h.Logger.Info("events stream created: the apps start", "attempts", attempt+1)
		}
		cancel()
	}
	return nil
}

// Run runs inst until ctx ends (App.Run), after Prepare.
func (h *Host) Run(ctx context.Context, inst Instance) error {
	if err := h.Prepare(ctx); err != nil {
		return err
	}
	return inst.App.Run(ctx, &Env{Name: inst.Name, Site: h.Site, JS: h.JS, Replicas: h.Replicas, Handle: h.Handle, Owner: h.Owner,
		Logger: h.Logger.With("app", inst.Name, "type", inst.Type)})
}

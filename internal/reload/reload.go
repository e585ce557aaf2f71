// Package reload re-reads a node's config and applies it without a
// restart, on SIGHUP and on POST /-/reload, one reload at a time: a config
// that does not load is refused with every problem logged, one that
// changes a key only a restart applies is refused naming the key, and in
// both cases the running config is kept. It keeps the reload self-metrics.
// What a new config changes is the node's business (Apply); this package
// is the trigger, the bookkeeping and the report.
package reload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sdnotify"
)

// Results of a reload, the values of the result label.
const (
	ResultSuccess       = "success"        // applied (or nothing changed)
	ResultInvalid       = "invalid"        // the config does not load
	ResultRestartNeeded = "restart_needed" // it changes a key only a restart applies
	ResultFailed        = "failed"         // applying it failed
)

// ErrInvalid and ErrRestartNeeded mark a refused reload (errors.Is).
var (
	ErrInvalid       = errors.New("config invalid")
	ErrRestartNeeded = errors.New("restart needed")
)

// Options configure a Reloader.
type Options struct {
	// Load reads the config file again (with the checks and the command
	// line's overrides the running config had).
	Load func() (*config.Config, error)
	// Apply applies a new config whose Diff from the running one needs no
	// restart; when it fails, the node must still run on the old one.
	Apply func(ctx context.Context, cfg *config.Config, d config.Diff) error
	// Current is the running config the reload starts from.
	Current    *config.Config
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Reloader reloads the config, one reload at a time.
type Reloader struct {
	o   Options
	log *slog.Logger
	m   *metrics

	mu  sync.Mutex // one reload at a time; guards cur
	cur *config.Config
}

// New returns a Reloader whose running config is o.Current; its metrics
// say the running config loaded (it did, or the node would not run).
func New(o Options) *Reloader {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{o: o, log: o.Logger, m: newMetrics(o.Registerer), cur: o.Current}
	r.m.successful.Set(1)
	r.m.successTime.SetToCurrentTime()
	return r
}

// Current is the running config.
func (r *Reloader) Current() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Reload reads the config again and applies it. It returns what changed,
// or why the reload was refused (ErrInvalid, ErrRestartNeeded) or failed;
// the running config is then kept. Every outcome is logged and counted.
func (r *Reloader) Reload(ctx context.Context) (config.Diff, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	r.notify(sdnotify.Reloading())
	d, result, err := r.reload(ctx)
	r.m.reloads.WithLabelValues(result).Inc()
	outcome := "applied at " + start.UTC().Format(time.RFC3339)
	if err != nil {
		outcome = result + " at " + start.UTC().Format(time.RFC3339) + " (running config kept; see the log)"
	}
	r.notify(sdnotify.Reloaded(outcome))
	if err != nil {
		r.m.successful.Set(0)
		return d, err
	}
	r.m.successful.Set(1)
	r.m.successTime.SetToCurrentTime()
	r.log.Info("config reloaded", "changed", d.String(), "took", time.Since(start).Round(time.Millisecond))
	return d, nil
}

// notify logs what systemd was not told (a reload goes on regardless).
func (r *Reloader) notify(err error) {
	if err != nil {
		r.log.Warn("config reload: systemd not notified", "err", err)
	}
}

func (r *Reloader) reload(ctx context.Context) (config.Diff, string, error) {
	cfg, err := r.o.Load()
	if err != nil {
		problems := plugin.Flatten(err)
		for _, p := range problems {
			r.log.Error("config reload refused: invalid config", "problem", p.Error())
		}
		r.log.Error("config reload refused: the running config is kept", "problems", len(problems))
		return config.Diff{}, ResultInvalid, fmt.Errorf("%w (the running config is kept):\n%w", ErrInvalid, err)
	}
	d := config.Compare(r.cur, cfg)
	if err := d.Err(); err != nil {
		r.log.Error("config reload refused", "err", err)
		return d, ResultRestartNeeded, fmt.Errorf("%w: %w", ErrRestartNeeded, err)
	}
	if d.Empty() {
		r.cur = cfg
		return d, ResultSuccess, nil
	}
	if err := r.o.Apply(ctx, cfg, d); err != nil {
		r.log.Error("config reload failed; the running config is kept", "changed", d.String(), "err", err)
		return d, ResultFailed, fmt.Errorf("apply %s: %w", d.String(), err)
	}
	r.cur = cfg
	return d, ResultSuccess, nil
}

// Handler is POST /-/reload: 200 with what changed, 400 with the problems
// of an invalid config or the keys that need a restart, 500 when applying
// failed. Mount it behind the node's HTTP auth.
func (r *Reloader) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST to reload the config", http.StatusMethodNotAllowed)
			return
		}
		d, err := r.Reload(req.Context())
		switch {
		case errors.Is(err, ErrInvalid), errors.Is(err, ErrRestartNeeded):
			http.Error(w, "reload refused: "+err.Error(), http.StatusBadRequest)
		case err != nil:
			http.Error(w, "reload failed: "+err.Error(), http.StatusInternalServerError)
		default:
			fmt.Fprintln(w, "reloaded: "+d.String())
		}
	})
}

// OnSignal reloads on every signal from sig until ctx ends (SIGHUP: the
// caller asks signal.Notify for it). A reload already in progress makes
// the next one wait.
func (r *Reloader) OnSignal(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sig:
			r.log.Info("config reload requested", "signal", s.String())
			_, _ = r.Reload(ctx) // logged and counted
		}
	}
}

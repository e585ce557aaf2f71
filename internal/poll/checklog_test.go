package poll

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// A plugin's req.Logger writes what r.log.With("plugin", ...).With("resource",
// ...) would, also through With and WithGroup.
func TestCheckLoggerMatchesWith(t *testing.T) {
	noTime := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}}
	logAll := func(l *slog.Logger) {
		l.Debug("one", "k", 1)
		l.With("x", 2).WithGroup("g").Info("two", "y", 3)
		l.WithGroup("h").With("z", 4).Warn("three")
	}
	var got, want bytes.Buffer
	r := NewRunner(RunnerOptions{SNMP: labSNMP, Logger: slog.New(slog.NewTextHandler(&got, noTime))})
	p := pluginFunc(func(_ context.Context, req *Request) ([]*metric.Group, error) {
		logAll(req.Logger)
		return []*metric.Group{group("a")}, nil
	})
	r.Run(context.Background(), "p", p, testResource, time.Minute)
	logAll(slog.New(slog.NewTextHandler(&want, noTime)).With("plugin", "p").With("resource", testResource.Key()))
	if got.String() != want.String() || want.Len() == 0 {
		t.Errorf("plugin logs:\n%s\nwant:\n%s", got.String(), want.String())
	}
}

// countingHandler counts WithAttrs calls: formatting attributes is what a
// check that logs nothing must not pay for.
type countingHandler struct {
	slog.Handler
	withAttrs *atomic.Int64
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.withAttrs.Add(1)
	return countingHandler{h.Handler.WithAttrs(as), h.withAttrs}
}

func TestQuietCheckFormatsNoAttributes(t *testing.T) {
	var n atomic.Int64
	var out bytes.Buffer
	r := NewRunner(RunnerOptions{SNMP: labSNMP, Logger: slog.New(countingHandler{slog.NewTextHandler(&out, nil), &n})})
	fail := false
	p := pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) {
		if fail {
			return nil, WithStatus(metric.StatusMissingMetrics, context.Canceled)
		}
		return []*metric.Group{group("a")}, nil
	})
	r.Run(context.Background(), "p", p, testResource, time.Minute)
	if n.Load() != 0 || out.Len() != 0 {
		t.Fatalf("a successful check formatted attributes %d times, logged %q", n.Load(), out.String())
	}
	fail = true
	r.Run(context.Background(), "p", p, testResource, time.Minute)
	if n.Load() != 1 || !bytes.Contains(out.Bytes(), []byte("plugin=p resource="+testResource.Key())) {
		t.Fatalf("a failed check: %d WithAttrs calls, logged %q", n.Load(), out.String())
	}
}

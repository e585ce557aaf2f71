package apps

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/event"
)

// streamApp reports whether the events stream exists when it runs.
type streamApp struct{ found chan error }

func (a streamApp) Run(ctx context.Context, env *Env) error {
	_, err := env.JS.Stream(ctx, event.Stream)
	a.found <- err
	return nil
}

// An app run by a Host nobody prepared (a config reload added the node's
// first app) finds the events stream it writes to.
func TestHostRunPrepares(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := &Host{Site: "lab", JS: b.JetStream(), Replicas: 1, Logger: slog.New(slog.DiscardHandler)}
	app := streamApp{found: make(chan error, 1)}
	if err := h.Run(ctx, Instance{Name: "a", Type: "test", App: app}); err != nil {
		t.Fatal(err)
	}
	if err := <-app.found; err != nil {
		t.Errorf("the events stream is missing when an unprepared host runs an app: %v", err)
	}
}

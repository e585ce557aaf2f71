// Package beaconapp is a throwaway app type, "beacon" (and so a role of
// that name): when it runs it writes one event, kind "beacon", to the
// events stream, serves GET /beacon/<name> on the node's HTTP server, and
// waits for the end.
package beaconapp

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps"
	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

func init() { apps.Register("beacon", New) }

// Config is the app's options block.
type Config struct {
	Message string `yaml:"message"` // the event's new_state; not empty
}

// Beacon is one instance.
type Beacon struct{ c Config }

// New is the factory: decode, check, no side effects.
func New(options plugin.Block, _ apps.Deps) (apps.App, error) {
	c := Config{Message: "on"}
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	if c.Message == "" {
		return nil, plugin.Errorf("message", "is empty")
	}
	return &Beacon{c: c}, nil
}

// Run announces itself once, then serves until ctx ends.
func (b *Beacon) Run(ctx context.Context, env *apps.Env) error {
	env.Handle("GET /beacon/"+env.Name, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, b.c.Message)
	}))
	ev := &event.Event{ID: "beacon." + env.Site + "." + env.Name, Kind: "beacon", Object: env.Name,
		Resource: &resource.Resource{ID: env.Name, Site: env.Site}, NewState: b.c.Message,
		Status: event.StatusOK, Time: float64(time.Now().UnixNano()) / 1e9}
	if err := env.Publish(ctx, ev); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

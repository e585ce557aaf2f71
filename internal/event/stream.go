package event

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// Stream is the JetStream stream of events (every wire.EventsSubject).
const Stream = "PANOPTES_EVENTS"

// Retention of the events stream. Events are few (state changes, not
// samples) and are an operator's history of what happened: kept 30 days
// or 1 GiB. The duplicate window covers a node that published an event,
// died before recording that, and whose successor publishes it again.
const (
	MaxAge           = 30 * 24 * time.Hour
	MaxBytes         = 1 << 30
	DuplicatesWindow = 10 * time.Minute
)

// StreamConfig is the events stream's configuration with replicas copies.
func StreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        Stream,
		Description: "Panoptes events: state changes of BGP sessions, interfaces, devices, links, load balancers",
		Subjects:    []string{wire.AllEvents},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      MaxAge,
		MaxBytes:    MaxBytes,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
		Duplicates:  DuplicatesWindow,
	}
}

// EnsureStream creates the events stream or updates its configuration.
func EnsureStream(ctx context.Context, js jetstream.JetStream, replicas int) error {
	if _, err := js.CreateOrUpdateStream(ctx, StreamConfig(replicas)); err != nil {
		return fmt.Errorf("events stream %s: %w", Stream, err)
	}
	return nil
}

// Subject is the event's subject: panoptes.events.<site>.<kind>.
func (e *Event) Subject() string { return wire.EventsSubject(e.Site, e.Kind) }

// Publish puts e on the bus with its ID as the message id, so publishing
// the same event again within DuplicatesWindow stores it once. It returns
// once the stream stored it (or recognised the duplicate).
func Publish(ctx context.Context, js jetstream.JetStream, e *Event) error {
	data, err := e.Encode()
	if err != nil {
		return fmt.Errorf("event %s: encode: %w", e.ID, err)
	}
	msg := nats.NewMsg(e.Subject())
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, e.ID)
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			return fmt.Errorf("event %s: no events stream answered on %s (is the %s stream created?): %w", e.ID, e.Subject(), Stream, err)
		}
		return fmt.Errorf("event %s: publish on %s: %w", e.ID, e.Subject(), err)
	}
	return nil
}

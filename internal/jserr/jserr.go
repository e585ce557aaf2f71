// Package jserr classifies the errors of JetStream requests: a leaf that
// the packages retrying them (cluster, sink) share without depending on
// each other.
package jserr

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NotReady: the request was not answered, or refused only because the
// cluster has no leader or not enough peers yet; waiting can fix it.
func NotReady(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case 10005, 10006, 10008, 10009, 10023, 10118: // no peers, not clustered yet, unavailable, not leader, resources, offline
		return true
	}
	return false
}

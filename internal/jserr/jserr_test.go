package jserr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestNotReady(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("alerts bucket: %w", context.DeadlineExceeded), true},
		{nats.ErrTimeout, true},
		{nats.ErrNoResponders, true},
		{&jetstream.APIError{Code: 400, ErrorCode: 10005}, true},  // no suitable peers yet
		{&jetstream.APIError{Code: 503, ErrorCode: 10008}, true},  // cluster unavailable
		{&jetstream.APIError{Code: 400, ErrorCode: 10058}, false}, // name in use with another configuration
		{&jetstream.APIError{Code: 500, ErrorCode: 10074}, false}, // replicas above the cluster's size
		{context.Canceled, false},
		{errors.New("bad configuration"), false},
	} {
		if got := NotReady(c.err); got != c.want {
			t.Errorf("NotReady(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

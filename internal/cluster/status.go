package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Status is what the buckets say about the cluster, read from outside it
// (panoptes status).
type Status struct {
	Members []Member          // every record, Seen = when the server stored it
	Leaders map[string]Leader // by site
}

// ErrNoCluster means the membership bucket does not exist: no node has
// joined through this bus.
var ErrNoCluster = errors.New("no membership bucket on this bus: is a panoptes node running and connected to it?")

// ReadStatus reads every member record and leader key.
func ReadStatus(ctx context.Context, js jetstream.JetStream) (*Status, error) {
	members, err := js.KeyValue(ctx, MembersBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, ErrNoCluster
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", MembersBucket, err)
	}
	st := &Status{Leaders: map[string]Leader{}}
	err = each(ctx, members, func(e jetstream.KeyValueEntry) {
		var m Member
		if json.Unmarshal(e.Value(), &m) == nil && m.ID == e.Key() {
			m.Seen = e.Created()
			st.Members = append(st.Members, m)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: read members: %w", err)
	}
	slices.SortFunc(st.Members, func(a, b Member) int {
		if c := strings.Compare(a.Site, b.Site); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	leaders, err := js.KeyValue(ctx, LeadersBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", LeadersBucket, err)
	}
	err = each(ctx, leaders, func(e jetstream.KeyValueEntry) {
		var l Leader
		if json.Unmarshal(e.Value(), &l) == nil {
			st.Leaders[strings.TrimPrefix(e.Key(), "leader.")] = l
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: read leaders: %w", err)
	}
	return st, nil
}

// each calls fn for every live key's latest entry.
func each(ctx context.Context, kv jetstream.KeyValue, fn func(jetstream.KeyValueEntry)) error {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch closed")
			}
			if e == nil {
				return nil
			}
			fn(e)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Age is how long ago the member's last heartbeat was stored.
func (m *Member) Age(now time.Time) time.Duration {
	return now.Sub(m.Seen).Round(100 * time.Millisecond)
}

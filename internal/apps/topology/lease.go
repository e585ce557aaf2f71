package topology

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaseKey is the reconciler lease's key in the records bucket (the
// records' watch covers dev.> only).
const leaseKey = "lease.reconciler"

// lease elects the one node that records link changes: nodes whose views
// of the records differ for a moment would otherwise disagree about which
// links exist. The holder renews it every pass; another node takes it
// once it was not renewed for its TTL (the holder died or lost the bus).
// Changed by compare-and-set only, so two nodes never both hold it.
type lease struct {
	kv     jetstream.KeyValue
	holder string
	ttl    time.Duration
	now    func() time.Time
}

type leaseEntry struct {
	Holder string  `json:"holder"`
	Until  float64 `json:"until"` // epoch seconds
}

func newLease(kv jetstream.KeyValue, ttl time.Duration, now func() time.Time) *lease {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &lease{kv: kv, holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)), ttl: ttl, now: now}
}

// acquire takes or renews the lease and reports whether this node holds
// it until the next pass.
func (l *lease) acquire(ctx context.Context) (bool, error) {
	now := l.now()
	next, err := json.Marshal(leaseEntry{Holder: l.holder, Until: epoch(now.Add(l.ttl))})
	if err != nil {
		return false, err
	}
	e, err := l.kv.Get(ctx, leaseKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		_, err = l.kv.Create(ctx, leaseKey, next)
	case err != nil:
		return false, err
	default:
		var cur leaseEntry
		if json.Unmarshal(e.Value(), &cur) == nil && cur.Holder != l.holder && cur.Until > epoch(now) {
			return false, nil // another node's, still valid
		}
		_, err = l.kv.Update(ctx, leaseKey, next, e.Revision())
	}
	if err != nil {
		if isConflict(err) {
			return false, nil // another node wrote it first
		}
		return false, fmt.Errorf("topology: reconciler lease: %w", err)
	}
	return true, nil
}

// isConflict reports whether a compare-and-set lost to another writer.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

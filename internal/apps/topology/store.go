package topology

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Bucket is the KV bucket of device records.
const Bucket = "panoptes_topology"

// bucketTTL drops the record of a device no poll reported for a week (it
// left the inventory or stopped running LLDP).
const bucketTTL = 7 * 24 * time.Hour

// store keeps the device records in KV and, through a watch, in memory:
// every node sees every record.
type store struct {
	kv  jetstream.KeyValue
	log *slog.Logger

	mu      sync.RWMutex
	records map[string]*Record // by KV key
	version uint64             // bumped by every change seen
	watcher jetstream.KeyWatcher
	done    chan struct{}
}

func openStore(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (*store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "neighbour views of every device (LLDP/CDP polls): the topology graph's input",
		History:     1,
		TTL:         bucketTTL,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return &store{kv: kv, log: log, records: map[string]*Record{}, done: make(chan struct{})}, nil
}

// recordKey is a device's KV key (resource keys hold characters KV keys
// may not).
func recordKey(r *resource.Resource) string {
	h := sha256.Sum256([]byte(r.Key()))
	return "dev." + hex.EncodeToString(h[:12])
}

// watch loads every record and keeps them current until stop.
func (s *store) watch(ctx context.Context) error {
	w, err := s.kv.Watch(ctx, "dev.>") // the records, not the reconciler's lease
	if err != nil {
		return fmt.Errorf("topology: watch %s: %w", Bucket, err)
	}
	s.watcher = w
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("topology: watch ended during the initial load")
			}
			if e == nil {
				go s.follow(w)
				return nil
			}
			s.apply(e)
		}
	}
}

func (s *store) follow(w jetstream.KeyWatcher) {
	defer close(s.done)
	for e := range w.Updates() {
		if e != nil {
			s.apply(e)
		}
	}
}

func (s *store) apply(e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	if e.Operation() != jetstream.KeyValuePut {
		delete(s.records, e.Key())
		return
	}
	rec := &Record{}
	if err := json.Unmarshal(e.Value(), rec); err != nil || rec.Resource == nil {
		s.log.Warn("topology: undecodable device record ignored", "key", e.Key(), "err", err)
		delete(s.records, e.Key())
		return
	}
	s.records[e.Key()] = rec
}

func (s *store) stop() {
	if s.watcher != nil {
		_ = s.watcher.Stop()
		<-s.done
	}
}

// snapshot returns the records (shared: do not modify) and the version.
func (s *store) snapshot() ([]*Record, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Record, 0, len(s.records))
	keys := make([]string, 0, len(s.records))
	for k := range s.records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, s.records[k])
	}
	return out, s.version
}

// update folds groups of one device into its record with compare-and-set,
// retrying when another node wrote it meanwhile.
func (s *store) update(ctx context.Context, r *resource.Resource, groups []*metric.Group) error {
	key := recordKey(r)
	for attempt := 0; attempt < 20; attempt++ {
		rec := &Record{Resource: r}
		var rev uint64
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("topology: get record of %s: %w", r.ID, err)
		default:
			rev = e.Revision()
			stored := &Record{} // never into rec: its Resource is the caller's, shared
			if err := json.Unmarshal(e.Value(), stored); err != nil {
				s.log.Warn("topology: damaged device record started again", "device", r.ID, "err", err)
			} else {
				rec = stored
			}
		}
		if !rec.apply(groups) {
			return nil
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, key, data)
		} else {
			_, err = s.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return nil
		}
		var apiErr *jetstream.APIError
		if !errors.Is(err, jetstream.ErrKeyExists) && !(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
			return fmt.Errorf("topology: write record of %s: %w", r.ID, err)
		}
	}
	return fmt.Errorf("topology: record of %s: too many concurrent updates", r.ID)
}

package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// Index is an in-memory copy of the inventory kept current by a bucket
// watch: every node keeps one, so nothing scans the bucket periodically.
// Resources it returns are shared and must not be modified.
type Index struct {
	logger  *slog.Logger
	watcher jetstream.KeyWatcher
	changes chan struct{}
	done    chan struct{}
	stop    sync.Once

	mu       sync.RWMutex
	byKey    map[string]*resource.Resource
	snapshot []*resource.Resource // sorted; nil when stale
}

// Watch loads the current inventory and keeps the returned index current
// until Stop. ctx bounds the initial load only.
func (s *Store) Watch(ctx context.Context, logger *slog.Logger) (*Index, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("inventory: watch: %w", err)
	}
	ix := &Index{
		logger:  logger,
		watcher: w,
		changes: make(chan struct{}, 1),
		done:    make(chan struct{}),
		byKey:   make(map[string]*resource.Resource),
	}
	if err := ix.loadInitial(ctx); err != nil {
		_ = w.Stop()
		return nil, err
	}
	go ix.run()
	return ix, nil
}

// loadInitial applies entries up to the watch's end-of-snapshot marker.
func (ix *Index) loadInitial(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("inventory: watch: initial load: %w", ctx.Err())
		case e, ok := <-ix.watcher.Updates():
			if !ok {
				return errors.New("inventory: watch: closed during initial load (connection lost?)")
			}
			if e == nil {
				return nil
			}
			ix.apply(e)
		}
	}
}

// run applies updates until the watch ends, coalescing what is already
// buffered into one batch and one Changes signal.
func (ix *Index) run() {
	defer close(ix.done)
	updates := ix.watcher.Updates()
	for e := range updates {
		n := 0
		if e != nil {
			ix.apply(e)
			n++
		}
	batch:
		for {
			select {
			case e, ok := <-updates:
				if !ok {
					break batch
				}
				if e != nil {
					ix.apply(e)
					n++
				}
			default:
				break batch
			}
		}
		if n > 0 {
			select {
			case ix.changes <- struct{}{}:
			default: // a signal is already waiting
			}
		}
	}
}

func (ix *Index) apply(e jetstream.KeyValueEntry) {
	switch e.Operation() {
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		key, err := resourceKey(e.Key())
		if err != nil {
			ix.logger.Warn("inventory: skipping entry with a foreign key", "kv_key", e.Key(), "err", err)
			return
		}
		ix.mu.Lock()
		delete(ix.byKey, key)
		ix.snapshot = nil
		ix.mu.Unlock()
	default:
		key, r, err := decodeEntry(e)
		if err != nil {
			// Keep nothing for a key whose value is unreadable: the old value is gone.
			ix.logger.Warn("inventory: skipping unreadable entry", "kv_key", e.Key(), "err", err)
			if key == "" {
				return
			}
			ix.mu.Lock()
			delete(ix.byKey, key)
			ix.snapshot = nil
			ix.mu.Unlock()
			return
		}
		r.Freeze() // read-only from here: one key string for all its holders
		ix.mu.Lock()
		ix.byKey[r.Key()] = r
		ix.snapshot = nil
		ix.mu.Unlock()
	}
}

// Snapshot returns the resources sorted by key. The slice is the caller's;
// the resources are shared and read-only.
func (ix *Index) Snapshot() []*resource.Resource {
	ix.mu.RLock()
	snap := ix.snapshot
	ix.mu.RUnlock()
	if snap == nil {
		ix.mu.Lock()
		if ix.snapshot == nil {
			keys := make([]string, 0, len(ix.byKey))
			for k := range ix.byKey {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			ix.snapshot = make([]*resource.Resource, len(keys))
			for i, k := range keys {
				ix.snapshot[i] = ix.byKey[k]
			}
		}
		snap = ix.snapshot
		ix.mu.Unlock()
	}
	return append([]*resource.Resource(nil), snap...)
}

// Get returns the resource with the given resource.Key(), or nil.
func (ix *Index) Get(key string) *resource.Resource {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.byKey[key]
}

// Len is the number of resources.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byKey)
}

// Changes receives after each batch of changes; signals coalesce, so a
// reader sees at least one signal after the latest change.
func (ix *Index) Changes() <-chan struct{} { return ix.changes }

// Done is closed when the watch has ended (Stop, or the connection closed).
func (ix *Index) Done() <-chan struct{} { return ix.done }

// Stop ends the watch and waits for the index's goroutine.
func (ix *Index) Stop() {
	ix.stop.Do(func() { _ = ix.watcher.Stop() })
	<-ix.done
}

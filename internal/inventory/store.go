// Package inventory keeps the resource inventory in a JetStream key-value
// bucket, and an in-memory index of it on every node, kept current by a watch.
package inventory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// Bucket is the KV bucket holding the inventory.
const Bucket = "panoptes_inventory"

// Store is the inventory bucket.
type Store struct {
	kv jetstream.KeyValue
}

// Open creates or updates the inventory bucket (one revision per key).
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas < 1 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Panoptes resource inventory, key base64url(resource key), value resource JSON",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: open bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv}, nil
}

// KVKey is the bucket key of a resource key: KV keys allow only
// [-/_=.a-zA-Z0-9], and resource keys may hold anything.
func KVKey(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// resourceKey reverses KVKey.
func resourceKey(kvKey string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(kvKey)
	if err != nil {
		return "", fmt.Errorf("inventory: key %q is not base64url: %w", kvKey, err)
	}
	return string(b), nil
}

// Put stores r (validated) under its key.
func (s *Store) Put(ctx context.Context, r *resource.Resource) error {
	if r == nil {
		return errors.New("inventory: put: resource is nil")
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("inventory: put %s: %w", r.Key(), err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("inventory: put %s: %w", r.Key(), err)
	}
	if _, err := s.kv.Put(ctx, KVKey(r.Key()), data); err != nil {
		return fmt.Errorf("inventory: put %s: %w", r.Key(), err)
	}
	return nil
}

// Delete removes the resource with the given resource.Key(). Deleting an
// absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if key == "" {
		return errors.New("inventory: delete: key is empty")
	}
	if err := s.kv.Delete(ctx, KVKey(key)); err != nil {
		return fmt.Errorf("inventory: delete %s: %w", key, err)
	}
	return nil
}

// List returns every resource by resource.Key(), read in one pass over the
// bucket (one watch, not one request per key).
func (s *Store) List(ctx context.Context) (map[string]*resource.Resource, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("inventory: list: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := make(map[string]*resource.Resource)
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("inventory: list: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("inventory: list: watch closed (connection lost?)")
			}
			if e == nil { // all current values delivered
				return out, nil
			}
			key, r, err := decodeEntry(e)
			if err != nil {
				return nil, fmt.Errorf("inventory: list: %w", err)
			}
			out[key] = r
		}
	}
}

// decodeEntry turns a put entry into its resource key and resource.
func decodeEntry(e jetstream.KeyValueEntry) (string, *resource.Resource, error) {
	key, err := resourceKey(e.Key())
	if err != nil {
		return "", nil, err
	}
	var r resource.Resource
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return key, nil, fmt.Errorf("inventory: entry %s: %w", key, err)
	}
	if r.Key() != key {
		return key, nil, fmt.Errorf("inventory: entry %s holds resource %s", key, r.Key())
	}
	intern(&r)
	return key, &r, nil
}

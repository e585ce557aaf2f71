package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/inventory"
	"github.com/panoptes-go/panoptes/internal/resource"
)

func openStore(t *testing.T) (*bus.Bus, *inventory.Store) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s, err := inventory.Open(ctx, b.JetStream(), b.Replicas())
	if err != nil {
		t.Fatal(err)
	}
	return b, s
}

func testResource(id string) *resource.Resource {
	return &resource.Resource{
		Site: "site1", Class: "network", Subclass: "switch", Type: "cisco",
		ID: id, Endpoint: id + ".example.com", Metadata: map[string]string{"model": "3750"},
		CreationTimestamp: 1535496674.53, Plugin: "discovery_csv",
	}
}

func TestKVKey(t *testing.T) {
	for _, key := range []string{
		"site1|network|switch|cisco|sw1", "a b|c/d|e.f|*|>", "ünïcode|x|y|z|w", "|||||",
	} {
		k := inventory.KVKey(key)
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-/_=.", r)) {
				t.Errorf("KVKey(%q) = %q has %q, not allowed in a KV key", key, k, r)
			}
		}
	}
	if inventory.KVKey("a|b") == inventory.KVKey("a|c") {
		t.Error("KVKey maps two keys to one")
	}
}

func TestPutListDelete(t *testing.T) {
	_, s := openStore(t)
	ctx := context.Background()
	odd := testResource("sw.with spaces*and>dots")
	for _, r := range []*resource.Resource{testResource("sw1"), testResource("sw2"), odd} {
		if err := s.Put(ctx, r); err != nil {
			t.Fatalf("Put %s: %v", r.Key(), err)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("List has %d resources, want 3", len(list))
	}
	if got := list[odd.Key()]; got == nil || !got.SameContent(odd) || got.CreationTimestamp != odd.CreationTimestamp {
		t.Errorf("List[%q] = %+v, want %+v", odd.Key(), got, odd)
	}

	// Put replaces.
	changed := testResource("sw1")
	changed.Endpoint = "10.0.0.1"
	if err := s.Put(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, testResource("sw2").Key()); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "never|was|there|at|all"); err != nil {
		t.Errorf("Delete of an absent key: %v", err)
	}
	list, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[changed.Key()].Endpoint != "10.0.0.1" || list[testResource("sw2").Key()] != nil {
		t.Errorf("after update and delete List = %v", list)
	}
}

func TestPutInvalid(t *testing.T) {
	_, s := openStore(t)
	bad := testResource("sw1")
	bad.Endpoint = ""
	err := s.Put(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "resource_endpoint") {
		t.Errorf("Put without endpoint: %v, want an error naming resource_endpoint", err)
	}
	if err := s.Put(context.Background(), nil); err == nil {
		t.Error("Put(nil) = nil, want an error")
	}
	if err := s.Delete(context.Background(), ""); err == nil {
		t.Error(`Delete("") = nil, want an error`)
	}
}

func TestListEmpty(t *testing.T) {
	_, s := openStore(t)
	list, err := s.List(context.Background())
	if err != nil || len(list) != 0 {
		t.Errorf("List of an empty bucket = %v, %v; want empty, nil", list, err)
	}
}

func TestWatchIndex(t *testing.T) {
	_, s := openStore(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := s.Put(ctx, testResource(fmt.Sprintf("sw%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	ix, err := s.Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Stop()
	if ix.Len() != 5 {
		t.Fatalf("index has %d resources after the initial load, want 5", ix.Len())
	}
	snap := ix.Snapshot()
	for i := 1; i < len(snap); i++ {
		if snap[i-1].Key() >= snap[i].Key() {
			t.Fatalf("Snapshot not sorted: %s before %s", snap[i-1].Key(), snap[i].Key())
		}
	}

	// Changes made after the watch started reach the index and signal Changes.
	drain(ix.Changes())
	if err := s.Put(ctx, testResource("sw9")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, testResource("sw0").Key()); err != nil {
		t.Fatal(err)
	}
	updated := testResource("sw1")
	updated.Metadata["model"] = "9300"
	if err := s.Put(ctx, updated); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ix.Changes(), func() bool {
		r := ix.Get(updated.Key())
		return ix.Len() == 5 && ix.Get(testResource("sw9").Key()) != nil &&
			ix.Get(testResource("sw0").Key()) == nil && r != nil && r.Meta("model") == "9300"
	})
	snap = ix.Snapshot()
	if len(snap) != 5 || snap[0].ID != "sw1" || snap[4].ID != "sw9" {
		t.Errorf("Snapshot after changes = %v", ids(snap))
	}

	// Stop ends the goroutine; Stop twice is fine.
	ix.Stop()
	ix.Stop()
	select {
	case <-ix.Done():
	default:
		t.Error("Done not closed after Stop")
	}
}

// TestWatchEndsWithConnection: closing the bus ends the index's watch.
func TestWatchEndsWithConnection(t *testing.T) {
	b, s := openStore(t)
	ix, err := s.Watch(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ix.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("index still running after the bus closed")
	}
	ix.Stop()
}

func TestWatchCancelled(t *testing.T) {
	_, s := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Watch(ctx, nil); err == nil {
		t.Error("Watch with a cancelled ctx = nil error")
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// waitFor waits on change signals until cond holds (10s at most).
func waitFor(t *testing.T, changes <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-changes:
		case <-deadline:
			t.Fatal("index did not reach the expected state")
		}
	}
}

func ids(rs []*resource.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// TestUnreadableEntry: a value written by something else is skipped by the
// index (with a warning) and reported by List.
func TestUnreadableEntry(t *testing.T) {
	b, s := openStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, testResource("sw1")); err != nil {
		t.Fatal(err)
	}
	ix, err := s.Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Stop()
	kv, err := b.JetStream().KeyValue(ctx, inventory.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	drain(ix.Changes())
	// Garbage replaces sw1's value.
	if _, err := kv.Put(ctx, inventory.KVKey(testResource("sw1").Key()), []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, testResource("sw2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ix.Changes(), func() bool { return ix.Get(testResource("sw2").Key()) != nil })
	if ix.Len() != 1 || ix.Get(testResource("sw1").Key()) != nil {
		t.Errorf("index = %v, want only sw2 (sw1's value is unreadable)", ids(ix.Snapshot()))
	}
	if _, err := s.List(ctx); err == nil || !strings.Contains(err.Error(), "inventory: list") {
		t.Errorf("List with an unreadable entry: %v, want an error", err)
	}
}

package discovery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/natstest"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// kvInventory adapts a JetStream KV bucket to Inventory, the way
// internal/inventory does: one JSON entry per resource. Resource keys hold
// '|', which KV keys may not, so they are base64url-encoded here.
type kvInventory struct{ kv jetstream.KeyValue }

func kvKey(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func (i *kvInventory) List(ctx context.Context) (map[string]*resource.Resource, error) {
	w, err := i.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	out := map[string]*resource.Resource{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // all current values delivered
				return out, nil
			}
			r := &resource.Resource{}
			if err := json.Unmarshal(e.Value(), r); err != nil {
				return nil, fmt.Errorf("entry %s: %w", e.Key(), err)
			}
			out[r.Key()] = r
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (i *kvInventory) Put(ctx context.Context, r *resource.Resource) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = i.kv.Put(ctx, kvKey(r.Key()), b)
	return err
}

func (i *kvInventory) Delete(ctx context.Context, key string) error {
	return i.kv.Delete(ctx, kvKey(key))
}

// startJetStream runs a real embedded JetStream server for the test.
func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	if testing.Short() {
		t.Skip("embedded NATS JetStream test; run without -short")
	}
	return natstest.JetStream(t, "")
}

// revisions maps every live KV key to its revision: equal maps mean the
// bucket was not written to.
func revisions(t *testing.T, kv jetstream.KeyValue) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	out := map[string]uint64{}
	for e := range w.Updates() {
		if e == nil {
			return out
		}
		out[e.Key()] = e.Revision()
	}
	t.Fatal("watch ended before the initial values were delivered")
	return nil
}

func TestManagerOnJetStreamKV(t *testing.T) {
	js := startJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "inventory", History: 1})
	if err != nil {
		t.Fatal(err)
	}
	inv := &kvInventory{kv: kv}
	other := res("core1", "10.9.9.9", "cmdb", nil)
	if err := inv.Put(ctx, other); err != nil {
		t.Fatal(err)
	}
	logger, logs := testLogger(slog.LevelDebug)
	m := NewManager(ManagerOptions{Inventory: inv, Logger: logger})
	defaults := Defaults{Site: "dc1"}
	sync := func(path string) (Diff, error) {
		return m.Sync(ctx, "csv", newSource(t, "csv", "csv", path, defaults), 0)
	}

	if d, err := sync("testdata/devices.csv"); err != nil || d != (Diff{Added: 3}) {
		t.Fatalf("first sync: %+v %v", d, err)
	}
	loaded := revisions(t, kv)
	if len(loaded) != 4 {
		t.Fatalf("bucket holds %d keys, want 4", len(loaded))
	}

	// Broken files keep the bucket exactly as it was.
	for _, path := range []string{"testdata/truncated.csv", "testdata/header_only.csv", "testdata/mostly_invalid.csv", "testdata/empty.csv"} {
		if _, err := sync(path); !errors.Is(err, ErrKeptPrevious) {
			t.Fatalf("%s: err = %v, want ErrKeptPrevious", path, err)
		}
		if got := revisions(t, kv); !reflect.DeepEqual(got, loaded) {
			t.Fatalf("%s changed the bucket: %v -> %v", path, loaded, got)
		}
	}

	// sw1 unchanged, sw2 removed, rt1 updated (new endpoint), sw3 added.
	changed := writeFile(t, "devices.csv", strings.Join([]string{
		"site,class,subclass,type,id,endpoint,model,snmp_credential,snmp_port,snmp_community,Location ",
		"dc1,network,switch,cisco,sw1.dc1,10.0.0.1,WS-C3750G-24TS,lab,161,public,rack 1",
		",network,router,juniper,rt1.dc1,192.0.2.1,MX480,,1161,,",
		"dc1,,,,sw3.dc1,10.0.0.3,,lab,,,rack 3",
	}, "\n")+"\n")
	if d, err := sync(changed); err != nil || d != (Diff{Added: 1, Updated: 1, Removed: 1, Unchanged: 1}) {
		t.Fatalf("changed sync: %+v %v", d, err)
	}
	after := revisions(t, kv)
	sw1 := kvKey("dc1|network|switch|cisco|sw1.dc1")
	if after[sw1] != loaded[sw1] {
		t.Error("an unchanged resource was rewritten")
	}
	if after[kvKey(other.Key())] != loaded[kvKey(other.Key())] {
		t.Error("another source's resource was rewritten")
	}
	if _, err := kv.Get(ctx, kvKey("dc1|network|switch|generic|sw2.dc1")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("removed sw2: Get err = %v, want ErrKeyNotFound", err)
	}
	got, err := inv.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rt1 := got["dc1|network|router|juniper|rt1.dc1"]; rt1 == nil || rt1.Endpoint != "192.0.2.1" || rt1.Plugin != "csv" {
		t.Errorf("rt1 = %+v", rt1)
	}
	if len(got) != 4 {
		t.Errorf("inventory holds %d resources, want 4", len(got))
	}

	// The community column never reached the bucket or the log.
	for k := range after {
		e, err := kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(e.Value()), "public") || strings.Contains(string(e.Value()), "community") {
			t.Errorf("entry %s holds the community: %s", k, e.Value())
		}
	}
	if strings.Contains(logs.String(), "public") {
		t.Errorf("log leaks the community:\n%s", logs)
	}
}

package inventory

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/testutil/heapsize"
)

// kvEntry is a put entry of the inventory bucket holding r.
type kvEntry struct {
	jetstream.KeyValueEntry // the methods decodeEntry does not call
	key                     string
	value                   []byte
}

func (e kvEntry) Key() string                     { return e.key }
func (e kvEntry) Value() []byte                   { return e.value }
func (e kvEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }
func entryOf(t testing.TB, r *resource.Resource) kvEntry {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return kvEntry{key: KVKey(r.Key()), value: b}
}

// simSwitch is the resource the bench harness's CSV inventory gives a
// simulated switch (id, endpoint, subclass, type, snmp_credential, model;
// site and class from discovery's defaults), classified when classified
// is set (vendor, OS, sysName... as discovery's classification adds them).
func simSwitch(i int, classified bool) *resource.Resource {
	r := &resource.Resource{Site: "bench", Class: "network", Subclass: "switch", Type: "cisco",
		ID: fmt.Sprintf("switch48-%05d", i), Endpoint: fmt.Sprintf("127.0.%d.%d:%d", i/250, i%250+1, 20000+i),
		Metadata:          map[string]string{"snmp_credential": "sim", "model": "WS-C2960X-48TS-L"},
		CreationTimestamp: 1765152000.25, Plugin: "csv"}
	if classified {
		for k, v := range map[string]string{"vendor": "cisco", "os": "ios", "os_version": "15.2(7)E8",
			"sys_name": fmt.Sprintf("sw%05d.bench", i), "sys_object_id": ".1.3.6.1.4.1.9.1.1208", "classification": "ok"} {
			r.Metadata[k] = v
		}
	}
	return r
}

// BenchmarkInventoryMemory reports the heap each resource of the index
// keeps (heap-B/device): devices resources decoded from their KV entries
// and held, as Index.apply holds them.
//
//	go test -run '^$' -bench InventoryMemory -benchtime 1x ./internal/inventory/
func BenchmarkInventoryMemory(b *testing.B) {
	const devices = 5000
	for _, classified := range []bool{false, true} {
		b.Run(fmt.Sprintf("sim-switch/classified=%v", classified), func(b *testing.B) {
			entries := make([]kvEntry, devices)
			for i := range entries {
				entries[i] = entryOf(b, simSwitch(i, classified))
			}
			for b.Loop() {
				b.ReportMetric(heapsize.PerItem(devices, func(i int) *resource.Resource {
					_, r, err := decodeEntry(entries[i])
					if err != nil {
						b.Fatal(err)
					}
					r.Freeze()
					return r
				}), "heap-B/device")
			}
		})
	}
}

// TestDecodeInterned: a decoded resource equals the one put, field by
// field and metadata entry by entry (nil and empty metadata, long values,
// an endpoint equal to the ID, text that JSON escapes), while the strings
// that repeat between resources are one copy.
func TestDecodeInterned(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 5))
	word := func() string {
		return []string{"site1", "network", "switch", "cisco", "a\"quoted\" <b>", "é ü", strings.Repeat("long", 20), "x"}[rng.IntN(8)]
	}
	for i := range 500 {
		r := &resource.Resource{Site: word(), Class: word(), Subclass: word(), Type: word(),
			ID: fmt.Sprintf("dev%d", i), Endpoint: word(), CreationTimestamp: rng.Float64() * 2e9, Plugin: word()}
		switch rng.IntN(4) {
		case 0: // nil metadata
		case 1:
			r.Metadata = map[string]string{}
		default:
			r.Metadata = map[string]string{}
			for range rng.IntN(10) {
				r.Metadata[word()] = word()
			}
			r.Metadata[fmt.Sprintf("own%d", i)] = fmt.Sprintf("value %d", i)
		}
		if rng.IntN(3) == 0 {
			r.Endpoint = r.ID
		}
		_, got, err := decodeEntry(entryOf(t, r))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("decoded %+v, put %+v", got, r)
		}
		if r.Endpoint == r.ID && unsafe.StringData(got.Endpoint) != unsafe.StringData(got.ID) {
			t.Error("an endpoint equal to the ID is a copy of its own")
		}
	}

	_, a, _ := decodeEntry(entryOf(t, simSwitch(1, true)))
	_, b, _ := decodeEntry(entryOf(t, simSwitch(2, true)))
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a.Site, b.Site) || !same(a.Class, b.Class) || !same(a.Subclass, b.Subclass) || !same(a.Type, b.Type) || !same(a.Plugin, b.Plugin) {
		t.Error("two resources of a site hold their own copies of site, class, subclass, type or plugin")
	}
	for k, v := range a.Metadata {
		for k2, v2 := range b.Metadata {
			if k == k2 && (!same(k, k2) || v == v2 && !same(v, v2)) {
				t.Errorf("metadata %s=%q: two copies", k, v)
			}
		}
	}
}

// TestInternerBounded: a full table starts again; the strings handed out
// stay, and equal strings are shared again after.
func TestInternerBounded(t *testing.T) {
	tab := &interner{maxEntries: 2, m: map[string]string{}}
	x := tab.get(strings.Clone("x"))
	tab.get("y")
	if got := tab.get(strings.Clone("x")); unsafe.StringData(got) != unsafe.StringData(x) {
		t.Error("an equal string not shared")
	}
	tab.get("z") // the table was full: a new generation
	if len(tab.m) != 1 || x != "x" {
		t.Errorf("%d strings after the third, want a new generation of 1; x is %q", len(tab.m), x)
	}
	long := strings.Repeat("v", maxInternLen+1)
	if tab.get(long); len(tab.m) != 1 {
		t.Error("a value longer than maxInternLen went into the table")
	}
	buf := []byte("prefix-model")
	s := unsafe.String(&buf[7], 5)
	if got := tab.get(s); unsafe.StringData(got) == unsafe.StringData(s) {
		t.Error("the table keeps a piece of the caller's buffer")
	}
}

package rate

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/natstest"

	"github.com/panoptes-go/panoptes/internal/metric"
)

func TestApplyAddsRatesBesideCounters(t *testing.T) {
	p := New(Options{})
	ctx := context.Background()
	now := time.Unix(1000, 0)
	g1 := ifGroup("Gi0/1", 100, 8000, metric.Hint{Bits: 64}, 1e9)
	p.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{g1}}, Names("bits_in"), now)
	if _, ok := rateOf(g1, "bits_in"); ok {
		t.Fatal("first poll has a rate")
	}
	g2 := ifGroup("Gi0/1", 160, 8000+60*12345, metric.Hint{Bits: 64}, 1e9)
	other := ifGroup("Gi0/2", 160, 1, metric.Hint{Bits: 64}, 1e9) // a new series: no rate
	p.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{g2, other}}, Names("bits_in"), now)
	if r, ok := rateOf(g2, "bits_in"); !ok || r != 12345 {
		t.Errorf("rate = %v, %v; want 12345", r, ok)
	}
	if m, _ := g2.Metric("bits_in"); m.Type != metric.Counter || m.Value.Uint64() != 8000+60*12345 {
		t.Errorf("raw counter changed: %+v", m)
	}
	if _, ok := rateOf(other, "bits_in"); ok {
		t.Error("a port seen once has a rate")
	}
	// Not selected: no rate, and the encoded group has no hint.
	g3 := ifGroup("Gi0/1", 220, 8000+120*12345, metric.Hint{Bits: 64}, 1e9)
	p.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{g3}}, Names("bits_out"), now)
	if _, ok := rateOf(g3, "bits_in"); ok {
		t.Error("rate for a counter not selected")
	}
	b := metric.AppendJSON(nil, g2)
	if want := `"metric_name":"bits_in_rate","metric_value":12345`; !contains(string(b), want) {
		t.Errorf("JSON lacks %s: %s", want, b)
	}
	if contains(string(b), "Bits") || contains(string(b), "hint") {
		t.Errorf("hint leaked into JSON: %s", b)
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestStateSurvivesProcessorRestart writes state to a real JetStream KV,
// starts a new Processor (a restarted node) on it, and expects the next
// poll to have its rate at once.
func TestStateSurvivesProcessorRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded NATS JetStream test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := natstest.JetStream(t, t.TempDir())
	kv, err := OpenBucket(ctx, js, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p1 := New(Options{KV: kv})
	p1.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{ifGroup("Gi0/1", 100, 1000, metric.Hint{Bits: 64}, 0)}}, All(), now)
	if err := p1.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	// Nothing changed: the next flush writes nothing.
	st, _ := kv.Status(ctx)
	before := st.Values()
	if err := p1.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	if st, _ := kv.Status(ctx); st.Values() != before {
		t.Errorf("an unchanged flush wrote: %d → %d values", before, st.Values())
	}

	p2 := New(Options{KV: kv})
	g := ifGroup("Gi0/1", 160, 1000+60*500, metric.Hint{Bits: 64}, 0)
	p2.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{g}}, All(), now)
	if r, ok := rateOf(g, "bits_in"); !ok || r != 500 {
		t.Errorf("after restart: rate = %v, %v; want 500", r, ok)
	}
	// Run's final flush on cancel persists the newest sample.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p2.Run(runCtx); close(done) }()
	stop()
	<-done
	p3 := New(Options{KV: kv})
	g = ifGroup("Gi0/1", 220, 1000+120*500, metric.Hint{Bits: 64}, 0)
	p3.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{g}}, All(), now)
	if r, ok := rateOf(g, "bits_in"); !ok || r != 500 {
		t.Errorf("after a clean stop: rate = %v, %v; want 500 (from the final flush)", r, ok)
	}
}

func TestCorruptStateStartsOver(t *testing.T) {
	st := &resState{key: testRes.Key()}
	st.table().put(1, sample{value: 5, at: 100})
	b := encodeState(nil, st, time.Hour)
	for _, bad := range [][]byte{nil, b[:len(b)-1], append([]byte{'X'}, b[1:]...)} {
		if err := decodeState(bad, &resState{key: testRes.Key()}); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	if err := decodeState(b, &resState{key: "other"}); err == nil {
		t.Error("another resource's entry decoded")
	}
	got := &resState{key: testRes.Key()}
	err := decodeState(b, got)
	want, _, _ := st.series.find(1)
	if s, _, ok := got.series.find(1); err != nil || !ok || s != want {
		t.Errorf("round trip: %v %+v", err, got.series)
	}
}

// A version 2 entry holds every field of every sample (stamps shared or
// not, with and without discontinuity times) in about half version 1's
// bytes, and a version 1 entry written by an older node still loads.
func TestStateEncoding(t *testing.T) {
	st := &resState{key: testRes.Key()}
	want := map[uint64]sample{}
	for k := range uint64(300) {
		s := sample{value: k * k * 1e9, at: 1000 + float64(k%7), uptime: 5000, flags: flagUptime}
		if k%3 == 0 {
			s.flags, s.disc = s.flags|flagDisc, uint32(k%2)
		}
		if k%50 == 0 {
			s.at, s.flags = 2000+float64(k), 0 // a stamp of its own
		}
		st.table().put(k*0x9E3779B97F4A7C15, s)
		want[k*0x9E3779B97F4A7C15] = s
	}
	b := encodeState(nil, st, time.Hour*24*365)
	if per := float64(len(b)) / 300; per > 20 {
		t.Errorf("%.1f bytes a series, want under 20 (version 1: %d)", per, entrySize)
	}
	got := &resState{key: testRes.Key()}
	if err := decodeState(b, got); err != nil {
		t.Fatal(err)
	}
	check := func(version string, got *resState) {
		t.Helper()
		n := 0
		got.series.each(func(k uint64, s sample) {
			if s != want[k] {
				t.Errorf("%s: series %x = %+v, want %+v", version, k, s, want[k])
			}
			n++
		})
		if n != len(want) {
			t.Errorf("%s: %d series, want %d", version, n, len(want))
		}
	}
	check("version 2", got)

	v1 := []byte{stateMagic, 1}
	v1 = binary.BigEndian.AppendUint16(v1, uint16(len(st.key)))
	v1 = append(v1, st.key...)
	v1 = binary.BigEndian.AppendUint32(v1, uint32(len(want)))
	for k, s := range want {
		v1 = binary.BigEndian.AppendUint64(v1, k)
		v1 = binary.BigEndian.AppendUint64(v1, s.value)
		v1 = binary.BigEndian.AppendUint64(v1, math.Float64bits(s.at))
		v1 = binary.BigEndian.AppendUint32(v1, s.uptime)
		v1 = binary.BigEndian.AppendUint32(v1, s.disc)
		v1 = append(v1, s.flags)
	}
	old := &resState{key: testRes.Key()}
	if err := decodeState(v1, old); err != nil {
		t.Fatal(err)
	}
	check("version 1", old)
	if err := decodeState(append(b, 0), &resState{key: testRes.Key()}); err == nil {
		t.Error("an entry with a byte too many decoded")
	}
}

func TestEvictsIdleResources(t *testing.T) {
	p := New(Options{EvictAfter: time.Minute})
	ctx := context.Background()
	p.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{ifGroup("Gi0/1", 100, 1, metric.Hint{}, 0)}}, All(), time.Unix(100, 0))
	_ = p.Flush(ctx, time.Unix(130, 0))
	if len(p.res) != 1 {
		t.Fatalf("%d resources, want 1", len(p.res))
	}
	_ = p.Flush(ctx, time.Unix(200, 0))
	if len(p.res) != 0 {
		t.Errorf("%d resources after EvictAfter, want 0", len(p.res))
	}
}

func TestConcurrentApply(t *testing.T) {
	p := New(Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				g := ifGroup(fmt.Sprintf("p%d", w%4), float64(100+i), uint64(i*10), metric.Hint{Bits: 64}, 0)
				p.Apply(ctx, &metric.GroupSet{Groups: []*metric.Group{g}}, All(), time.Now())
				if i%10 == 0 {
					_ = p.Flush(ctx, time.Now())
				}
			}
		})
	}
	wg.Wait()
}

// switchSet is a 48-port switch's interface groups with 16 counters each.
func switchSet(at float64, step uint64) *metric.GroupSet {
	set := &metric.GroupSet{}
	for port := range 48 {
		g := ifGroup(fmt.Sprintf("Gi0/%d", port), at, step*1000, metric.Hint{Bits: 64}, 1e9)
		for c := range 15 {
			g.Metrics = append(g.Metrics, metric.Metric{Name: fmt.Sprintf("counter_%d", c), Value: metric.Uint(step * 10),
				Type: metric.Counter, Timestamp: at, Hint: metric.Hint{Bits: 64}})
		}
		set.Groups = append(set.Groups, g)
	}
	return set
}

// BenchmarkApplySwitch48 is one poll of a 48-port switch, all 768 counters
// rated.
func BenchmarkApplySwitch48(b *testing.B) {
	p := New(Options{})
	ctx := context.Background()
	now := time.Now()
	p.Apply(ctx, switchSet(0, 0), All(), now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer() // building the poll's groups is not the rate's cost
		set := switchSet(float64(60*(i+1)), uint64(i+1))
		b.StartTimer()
		p.Apply(ctx, set, All(), now)
	}
}

// BenchmarkFlushSwitch48KV measures the KV write of one 48-port switch's
// state (768 series): what a flush costs per changed resource.
func BenchmarkFlushSwitch48KV(b *testing.B) {
	ctx := context.Background()
	js := natstest.JetStream(b, b.TempDir())
	kv, err := OpenBucket(ctx, js, time.Hour, 1)
	if err != nil {
		b.Fatal(err)
	}
	p := New(Options{KV: kv})
	now := time.Now()
	p.Apply(ctx, switchSet(0, 0), All(), now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		p.Apply(ctx, switchSet(float64(60*(i+1)), uint64(i+1)), All(), now)
		b.StartTimer()
		if err := p.Flush(ctx, now); err != nil {
			b.Fatal(err)
		}
	}
	st := p.res[testRes.Key()]
	st.mu.Lock()
	b.ReportMetric(float64(len(encodeState(nil, st, time.Hour))), "state-bytes")
	st.mu.Unlock()
}

// BenchmarkKVPutPerSeries is the design not taken: one KV put per series
// (33 bytes) per poll; compare ×768 with one BenchmarkFlushSwitch48KV.
func BenchmarkKVPutPerSeries(b *testing.B) {
	ctx := context.Background()
	kv, err := OpenBucket(ctx, natstest.JetStream(b, b.TempDir()), time.Hour, 1)
	if err != nil {
		b.Fatal(err)
	}
	val := make([]byte, entrySize)
	b.ResetTimer()
	for i := range b.N {
		if _, err := kv.Put(ctx, "s"+strconv.Itoa(i%768), val); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStateBytesPerSeries is the memory the processor holds per
// rated series (issue 15: tens of bytes, not ~190): 100 switches of 768
// series each, polled twice, heap measured after a GC.
func BenchmarkStateBytesPerSeries(b *testing.B) {
	ctx := context.Background()
	const switches = 100
	var perSeries float64
	for range b.N {
		sets := make([][2]*metric.GroupSet, switches)
		for i := range sets {
			for poll := range 2 {
				set := switchSet(float64(60*(poll+1)), uint64(poll+1))
				res := *testRes
				res.ID = fmt.Sprintf("sw%d", i)
				for _, g := range set.Groups {
					g.Resource = &res
					// room for the rates, so appending them allocates
					// nothing the processor would be charged for
					g.Metrics = append(make([]metric.Metric, 0, 2*len(g.Metrics)), g.Metrics...)
				}
				sets[i][poll] = set
			}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		p := New(Options{})
		for poll := range 2 {
			for i := range sets {
				p.Apply(ctx, sets[i][poll], All(), time.Now())
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / (switches * 48 * 16)
		runtime.KeepAlive(p)
		runtime.KeepAlive(sets)
	}
	b.ReportMetric(perSeries, "B/series")
}

// Run spreads a flush over slots: each resource is written in exactly one
// slot of a turn, and no slot holds them all (at 10,000 switches a flush of
// all at once was a burst the JetStream store held in memory).
func TestFlushSpread(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		interval time.Duration
		slots    int
	}{{30 * time.Second, 30}, {3 * time.Second, 3}, {500 * time.Millisecond, 1}, {time.Hour, 30}} {
		if got := New(Options{FlushInterval: c.interval}).slots(); got != c.slots {
			t.Errorf("flush_interval %s: %d slots, want %d", c.interval, got, c.slots)
		}
	}
	p := New(Options{FlushInterval: 3 * time.Second})
	const resources, slots = 60, 3
	for i := range resources {
		p.Swap(ctx, fmt.Sprintf("r%d", i), 1, 10, 100)
	}
	dirty := func() int {
		n := 0
		for _, st := range p.res {
			if st.dirty {
				n++
			}
		}
		return n
	}
	left := resources
	for slot := range slots {
		if err := p.flush(ctx, time.Now(), slot, slots); err != nil {
			t.Fatal(err)
		}
		written := left - dirty()
		if written == 0 || written == resources {
			t.Errorf("slot %d wrote %d of %d resources", slot, written, resources)
		}
		left -= written
	}
	if left != 0 {
		t.Errorf("%d resources not written in a turn of the slots", left)
	}
}

// groupHash is FNV-1a as hash/fnv computes it, and seriesHash continues
// it: KV entries hold them, so an entry written by an earlier build finds
// its groups and series.
func TestGroupHashIsFNV(t *testing.T) {
	for _, g := range []*metric.Group{
		{Type: "interface"},
		{Type: "", Dimensions: []metric.Dimension{{}}},
		{Type: "interface", Dimensions: []metric.Dimension{{Name: "interface_name", Value: "Gi1/0/1"}, {Name: "alias", Value: "désk\x00"}}},
	} {
		h := fnv.New64a()
		_, _ = h.Write([]byte(g.Type))
		for _, d := range g.Dimensions {
			_, _ = h.Write([]byte{0})
			_, _ = h.Write([]byte(d.Name))
			_, _ = h.Write([]byte{1})
			_, _ = h.Write([]byte(d.Value))
		}
		if got, want := groupHash(g), h.Sum64(); got != want {
			t.Errorf("groupHash(%+v) = %x, want %x", g, got, want)
		}
		// seriesHash continues FNV-1a from the group's hash with 0xff, then the name
		want := (groupHash(g) ^ 0xff) * 1099511628211
		for _, c := range []byte("bits_in") {
			want = (want ^ uint64(c)) * 1099511628211
		}
		if got := seriesHash(groupHash(g), "bits_in"); got != want {
			t.Errorf("seriesHash = %x, want %x", got, want)
		}
	}
}

package kafka

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// readerConfig is a source's section and what the sink gives it.
type readerConfig struct {
	k    SourceConfig
	deps sink.SourceDeps
}

func sourceConfig(c *kfake.Cluster, group string, topics ...string) readerConfig {
	return readerConfig{
		k: SourceConfig{Brokers: c.ListenAddrs(), Topics: topics, Group: group},
		deps: sink.SourceDeps{Deps: sink.Deps{Name: "from_kafka"}, BatchSize: 10, BatchTimeout: 100 * time.Millisecond,
			MaxBackoff: 200 * time.Millisecond},
	}
}

func newReader(t testing.TB, cfg readerConfig) *Reader {
	t.Helper()
	r, err := NewReader(cfg.k, cfg.deps)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return r
}

// runReader runs r until the returned stop is called; stop waits for Run.
func runReader(t testing.TB, r *Reader, handle func(context.Context, []sink.Record) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, handle) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// produceGroups writes n groups of site1 through the Kafka sink.
func produceGroups(t testing.TB, c *kfake.Cluster, from, n int) []*metric.Group {
	t.Helper()
	s := newSink(t, sinkConfig(c, nil))
	var gs []*metric.Group
	var batch []sink.Record
	for i := from; i < from+n; i++ {
		g := group("site1", "sw1", "interface", float64(1000+i), "interface_name", "Eth"+string(rune('a'+i%26)))
		gs = append(gs, g)
		batch = append(batch, record(g))
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return gs
}

// collector records what handle saw.
type collector struct {
	mu      sync.Mutex
	batches [][]sink.Record
	fail    func(call int, batch []sink.Record) error // nil = succeed
	calls   int
}

func (c *collector) handle(_ context.Context, batch []sink.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	cp := append([]sink.Record(nil), batch...)
	c.batches = append(c.batches, cp)
	if c.fail != nil {
		return c.fail(c.calls, cp)
	}
	return nil
}

// seen lists the creation timestamps of every record handed over, in order.
func (c *collector) seen() []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []float64
	for _, b := range c.batches {
		for _, r := range b {
			if r.Group != nil {
				out = append(out, r.Group.CreationTimestamp)
			}
		}
	}
	return out
}

func TestNewReaderRejectsBadConfig(t *testing.T) {
	const secret = "s3cret-k4fka"
	good := func() SourceConfig {
		return SourceConfig{Brokers: []string{"kafka1:9092"}, Topics: []string{"site1-processed"}}
	}
	for _, tc := range []struct {
		name, field string
		mod         func(k *SourceConfig)
	}{
		{"no brokers", "brokers", func(k *SourceConfig) { k.Brokers = nil }},
		{"bad broker", "brokers[0]", func(k *SourceConfig) { k.Brokers = []string{":9092"} }},
		{"no topics", "topics", func(k *SourceConfig) { k.Topics = nil }},
		{"bad topic", "topics[1]", func(k *SourceConfig) { k.Topics = append(k.Topics, "a b") }},
		{"password alone", "username", func(k *SourceConfig) { k.Password = secret }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := good()
			tc.mod(&k)
			_, err := NewReader(k, sink.SourceDeps{Deps: sink.Deps{Name: "k"}})
			var fe *plugin.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *plugin.FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	r, err := NewReader(good(), sink.SourceDeps{Deps: sink.Deps{Name: "my sink"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.group != "sink_my_sink" {
		t.Errorf("default group %q, want the sink's durable name", r.group)
	}
}

func TestReaderDeliversDecodedGroupsAndCommits(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(4, "site1-processed"))
	want := produceGroups(t, c, 0, 25)
	produceRaw(t, c, "site1-processed", []byte(`{"garbage`))

	var col collector
	reg := prometheus.NewRegistry()
	rc := sourceConfig(c, "g1", "site1-processed")
	rc.deps.Registerer = reg
	r, err := NewReader(rc.k, rc.deps)
	if err != nil {
		t.Fatal(err)
	}
	var pendingAtFirst atomic.Int64
	pendingAtFirst.Store(-1)
	stop := runReader(t, r, func(ctx context.Context, b []sink.Record) error {
		pendingAtFirst.CompareAndSwap(-1, r.Pending())
		return col.handle(ctx, b)
	})
	waitFor(t, "26 records", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		n := 0
		for _, b := range col.batches {
			n += len(b)
		}
		return n == 26
	})
	var poison int
	for _, b := range col.batches {
		if len(b) > 10 {
			t.Errorf("batch of %d records, batch_size is 10", len(b))
		}
		for _, r := range b {
			if r.Subject != "site1-processed" || r.Time.IsZero() {
				t.Errorf("record subject %q time %v", r.Subject, r.Time)
			}
			if r.Group == nil {
				poison++
				if string(r.Data) != `{"garbage` {
					t.Errorf("undecodable record's data %q", r.Data)
				}
			}
		}
	}
	if poison != 1 {
		t.Errorf("%d records without a group, want the 1 undecodable one", poison)
	}
	if got := col.seen(); len(got) != len(want) {
		t.Errorf("%d groups decoded, want %d", len(got), len(want))
	}
	// Every partition is committed up to its end.
	waitFor(t, "offsets committed", func() bool {
		var sum int64
		for _, o := range committed(t, c, "g1", "site1-processed") {
			sum += o
		}
		return sum == 26
	})
	// The lag counts records not yet handed over, from the partitions
	// polled so far (TestReaderLag checks it on one partition, where it is
	// deterministic); none are left at the end.
	if p := pendingAtFirst.Load(); p < 0 || p > 26 {
		t.Errorf("pending at the first batch = %d, want 0..26", p)
	}
	if p := r.Pending(); p != 0 {
		t.Errorf("pending after everything was handled = %d", p)
	}
	if v := testutil.ToFloat64(r.metrics.lag); v != 0 {
		t.Errorf("lag metric %v after everything was handled", v)
	}
	if n, err := testutil.GatherAndCount(reg, "panoptes_sink_kafka_source_lag"); err != nil || n != 1 {
		t.Errorf("lag metric registered %d times (%v)", n, err)
	}
	stop()
}

func TestReaderCommitsOnlyAfterSuccessAndRereads(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	produceGroups(t, c, 0, 5)

	var firstAttempt []float64
	col := collector{fail: func(call int, b []sink.Record) error {
		if call <= 2 {
			if call == 1 {
				for _, r := range b {
					firstAttempt = append(firstAttempt, r.Group.CreationTimestamp)
				}
			}
			return errors.New("store down")
		}
		return nil
	}}
	r := newReader(t, sourceConfig(c, "g2", "site1-processed"))
	stop := runReader(t, r, func(ctx context.Context, b []sink.Record) error {
		// While the write fails, nothing is committed.
		if off := committed(t, c, "g2", "site1-processed"); len(off) != 0 {
			t.Errorf("offsets %v committed before a write succeeded", off)
		}
		return col.handle(ctx, b)
	})
	waitFor(t, "a successful write", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		return col.calls >= 3
	})
	waitFor(t, "offset 5 committed", func() bool { return committed(t, c, "g2", "site1-processed")[0] == 5 })
	stop()

	// The failed batch came again, same records in the same order.
	col.mu.Lock()
	defer col.mu.Unlock()
	for i := 1; i < 3; i++ {
		if !sameTimestamps(col.batches[i], firstAttempt) {
			t.Errorf("attempt %d read %v, the first read %v", i+1, timestamps(col.batches[i]), firstAttempt)
		}
	}
	if len(firstAttempt) != 5 {
		t.Errorf("first batch had %d records, want all 5", len(firstAttempt))
	}
}

func TestReaderRestartResumesFromCommit(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	produceGroups(t, c, 0, 30)

	// The first reader writes one batch of 10, then stops in the middle of
	// the second: that batch is not committed.
	cfg := sourceConfig(c, "g3", "site1-processed")
	var first collector
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- newReader(t, cfg).Run(ctx, func(hctx context.Context, b []sink.Record) error {
			if err := first.handle(hctx, b); err != nil {
				return err
			}
			if len(first.seen()) > 10 {
				cancel() // stopping while the second batch is being written
				<-hctx.Done()
				return hctx.Err()
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first reader did not stop")
	}
	if off := committed(t, c, "g3", "site1-processed")[0]; off != 10 {
		t.Fatalf("committed offset %d after one written batch, want 10", off)
	}

	// A new reader in the same group resumes at offset 10: the unwritten
	// batch comes again, nothing before it does, nothing is skipped.
	var second collector
	stop := runReader(t, newReader(t, cfg), second.handle)
	waitFor(t, "the remaining 20 records", func() bool { return len(second.seen()) >= 20 })
	stop()
	got := second.seen()
	for i, ts := range got {
		if want := float64(1010 + i); ts != want {
			t.Fatalf("second reader's record %d has timestamp %v, want %v (all: %v)", i, ts, want, got)
		}
	}
	if len(got) != 20 {
		t.Errorf("second reader read %d records, want 20", len(got))
	}
	if off := committed(t, c, "g3", "site1-processed")[0]; off != 30 {
		t.Errorf("committed offset %d at the end, want 30", off)
	}
}

// failOnceSink is a fake store that refuses its first write.
type failOnceSink struct {
	mu      sync.Mutex
	writes  int
	written []sink.Record
}

func (f *failOnceSink) Write(_ context.Context, batch []sink.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes == 1 {
		return errors.New("store unavailable")
	}
	f.written = append(f.written, batch...)
	return nil
}

func TestSourceToSinkChain(t *testing.T) {
	// Kafka sink → topic → Kafka source → a store that fails once: every
	// group arrives exactly once after the retry, in order, and the
	// offsets are committed to the end.
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	want := produceGroups(t, c, 0, 12)
	store := &failOnceSink{}
	stop := runReader(t, newReader(t, sourceConfig(c, "chain", "site1-processed")), store.Write)
	waitFor(t, "12 groups stored", func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return len(store.written) >= 12
	})
	waitFor(t, "offset 12 committed", func() bool { return committed(t, c, "chain", "site1-processed")[0] == 12 })
	stop()
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.writes < 2 {
		t.Errorf("%d writes, want the failed one and a retry", store.writes)
	}
	if len(store.written) != len(want) {
		t.Fatalf("stored %d groups, want %d", len(store.written), len(want))
	}
	for i, r := range store.written {
		if string(r.Data) != string(metric.AppendJSON(nil, want[i])) {
			t.Errorf("stored group %d differs from the one produced", i)
		}
	}
}

func timestamps(b []sink.Record) []float64 {
	var out []float64
	for _, r := range b {
		out = append(out, r.Group.CreationTimestamp)
	}
	return out
}

func sameTimestamps(b []sink.Record, want []float64) bool {
	got := timestamps(b)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestReadersInOneGroupShareTheWork(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(4, "site1-processed"))
	cfg := sourceConfig(c, "shared", "site1-processed")
	var a, b collector
	runReader(t, newReader(t, cfg), a.handle)
	runReader(t, newReader(t, cfg), b.handle)
	waitFor(t, "two stable members", func() bool { return stableMembers(t, c, "shared") == 2 })

	want := produceGroups(t, c, 0, 40)
	waitFor(t, "40 records between both readers", func() bool { return len(a.seen())+len(b.seen()) >= len(want) })
	time.Sleep(200 * time.Millisecond) // a duplicate would show up now
	seen := map[float64]int{}
	for _, ts := range append(a.seen(), b.seen()...) {
		seen[ts]++
	}
	for _, g := range want {
		if seen[g.CreationTimestamp] != 1 {
			t.Errorf("group %v read %d times, want once", g.CreationTimestamp, seen[g.CreationTimestamp])
		}
	}
	if len(a.seen()) == 0 || len(b.seen()) == 0 {
		t.Errorf("readers read %d and %d records: the group did not share its partitions", len(a.seen()), len(b.seen()))
	}
}

// stableMembers is the member count of group when it is stable, else 0.
func stableMembers(t testing.TB, c *kfake.Cluster, group string) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Groups) != 1 || resp.Groups[0].State != "Stable" {
		return 0
	}
	return len(resp.Groups[0].Members)
}

// TestReaderLag: on one partition of 26 records read in batches of 10, the
// lag at the first batch counts the 16 not handed over yet, and is 0 once
// all are handled.
func TestReaderLag(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	produceGroups(t, c, 0, 26)
	rc := sourceConfig(c, "lag", "site1-processed")
	rc.deps.Registerer = prometheus.NewRegistry()
	r, err := NewReader(rc.k, rc.deps)
	if err != nil {
		t.Fatal(err)
	}
	var col collector
	var first atomic.Int64
	first.Store(-1)
	stop := runReader(t, r, func(ctx context.Context, b []sink.Record) error {
		first.CompareAndSwap(-1, r.Pending()+int64(len(b)))
		return col.handle(ctx, b)
	})
	defer stop()
	waitFor(t, "26 records", func() bool { return len(col.seen()) == 26 })
	if p := first.Load(); p != 26 {
		t.Errorf("at the first batch, pending + the batch = %d; want all 26 records", p)
	}
	waitFor(t, "lag 0", func() bool { return r.Pending() == 0 })
}

package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/layout"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// stored is one message of a metrics stream, decoded.
type stored struct {
	stream, subject, id string
	groups              []*metric.Group
}

// readStream returns every message of a stream, in order.
func readStream(t testing.TB, js jetstream.JetStream, name string) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	st := s.CachedInfo().State
	var out []stored
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("stream %s message %d: %v", name, seq, err)
		}
		gs, err := wire.Decode(m.Data)
		if err != nil {
			t.Fatalf("stream %s message %d: %v", name, seq, err)
		}
		out = append(out, stored{stream: name, subject: m.Subject, id: m.Header.Get(jetstream.MsgIDHeader), groups: gs})
	}
	return out
}

// readLayout reads the metrics streams' layout.
func readLayout(t testing.TB, js jetstream.JetStream) layout.Layout {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lay, err := layout.Read(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	return lay
}

// seqsByResource reads every generation's streams in order (as a consumer
// does: a generation after the older ones) and returns each resource's
// "seq" dimensions in that order, a message seen twice (its id) once.
func seqsByResource(t testing.TB, js jetstream.JetStream) map[string][]int {
	t.Helper()
	ids := map[string]bool{}
	out := map[string][]int{}
	for _, g := range readLayout(t, js).Gens {
		for _, s := range g.Streams {
			for _, m := range readStream(t, js, s.Name) {
				if ids[m.id] {
					continue
				}
				ids[m.id] = true
				for _, gr := range m.groups {
					if gr.Type != "status" {
						continue
					}
					seq, _ := strconv.Atoi(gr.Dimension("seq"))
					out[gr.Resource.ID] = append(out[gr.Resource.ID], seq)
				}
			}
		}
	}
	return out
}

// TestPartitionedStreams: with partitions 3 a new bus makes three streams
// (generation 1); every check's groups go to its resource's partition,
// with the partition token last in the subject, and stay one message.
func TestPartitionedStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 300 << 20, Partitions: 3, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l := b.Layout()
	if l != (wire.Layout{Gen: 1, N: 3}) {
		t.Fatalf("layout %v, want generation 1 with 3 partitions", l)
	}
	const devices = 30
	for i := range devices {
		set := interfaceSet(testResource("lab", fmt.Sprintf("sw%02d", i)), 4)
		if n, err := b.PublishSet(ctx, set); n != len(set.Groups) || err != nil {
			t.Fatalf("PublishSet = %d, %v", n, err)
		}
	}
	lay := readLayout(t, b.JetStream())
	cur, ok := lay.Current()
	if !ok || cur.Layout != l || len(lay.Gens) != 1 {
		t.Fatalf("streams: %+v", lay)
	}
	seen := map[string]int{}
	for p, s := range cur.Streams {
		if s.Info.Config.MaxBytes != 100<<20 {
			t.Errorf("stream %s max_bytes %d, want a third of the bus's", s.Name, s.Info.Config.MaxBytes)
		}
		for _, m := range readStream(t, b.JetStream(), s.Name) {
			sub, err := wire.ParseSubject(m.subject)
			if err != nil || sub.Gen != 1 || sub.Part != p {
				t.Fatalf("stream %s holds subject %q (%+v, %v)", s.Name, m.subject, sub, err)
			}
			ids := map[string]bool{}
			for _, g := range m.groups {
				ids[g.Resource.ID] = true
				if l.Partition(g.Resource.ID) != p || g.Type != sub.Type {
					t.Errorf("group %s of %s in %s", g.Type, g.Resource.ID, m.subject)
				}
				seen[g.Resource.ID]++
			}
			if len(ids) != 1 {
				t.Errorf("message %s holds %d resources' groups", m.subject, len(ids))
			}
		}
	}
	if len(seen) != devices {
		t.Fatalf("%d devices stored, want %d", len(seen), devices)
	}
	for id, n := range seen {
		if n != 5 {
			t.Errorf("%s: %d groups stored, want 5", id, n)
		}
	}
	if err := b.Ready(); err != nil {
		t.Fatal(err)
	}
}

// TestRepartitionKeepsOrder: a publisher keeps publishing while another
// node asks for 5 partitions instead of 3. The new generation takes the
// new publishes, the old one is retired (no subjects), the legacy subjects
// move to the new partition 0, and reading the generations in order gives
// every resource's every check once, in order.
func TestRepartitionKeepsOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	hub, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Listen: loopback(freePort(t)), MaxBytes: 256 << 20, Partitions: 3, Name: "hub", LayoutTick: 100 * time.Millisecond, RetireAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	pub, err := bus.Open(ctx, bus.Options{URL: hub.ClientURL(), Name: "poller", Linger: 5 * time.Millisecond, LayoutTick: 100 * time.Millisecond, RetireAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if pub.Layout() != hub.Layout() {
		t.Fatalf("the poller publishes to %v, the hub made %v", pub.Layout(), hub.Layout())
	}

	const devices = 12
	var rounds int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := 0; ; r++ {
			select {
			case <-stop:
				rounds = r
				return
			case <-time.After(20 * time.Millisecond):
			}
			var rw sync.WaitGroup
			for d := range devices {
				rw.Add(1)
				go func() { // concurrent, so that light checks coalesce
					defer rw.Done()
					if n, err := pub.PublishSet(ctx, lightSet(fmt.Sprintf("sw%02d", d), r)); n != 2 || err != nil {
						t.Errorf("round %d: PublishSet = %d, %v", r, n, err)
					}
				}()
			}
			rw.Wait()
		}
	}()
	time.Sleep(time.Second)
	switcher, err := bus.Open(ctx, bus.Options{URL: hub.ClientURL(), Name: "switcher", Partitions: 5, LayoutTick: 100 * time.Millisecond, RetireAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_ = switcher.Close()
	next := wire.Layout{Gen: 2, N: 5}
	waitFor(t, 10*time.Second, "every bus on generation 2", func() bool { return hub.Layout() == next && pub.Layout() == next })
	waitFor(t, 20*time.Second, "generation 1 retired", func() bool {
		g, ok := readLayout(t, hub.JetStream()).Find(1)
		return ok && g.Retired()
	})
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	waitFor(t, 20*time.Second, "the poller's buffer empty", func() bool { return pub.Health().Buffered == 0 })

	lay := readLayout(t, hub.JetStream())
	old, _ := lay.Find(1)
	for _, s := range old.Streams {
		if !slices.Equal(s.Info.Config.Subjects, []string{wire.RetiredSubject(s.Name)}) || s.Info.Config.Metadata[layout.MetaRetired] == "" {
			t.Errorf("retired stream %s: subjects %q, metadata %v", s.Name, s.Info.Config.Subjects, s.Info.Config.Metadata)
		}
	}
	cur, ok := lay.Current()
	if !ok || cur.Layout != next {
		t.Fatalf("current generation %v", cur.Layout)
	}
	if !slices.Contains(cur.Streams[0].Info.Config.Subjects, wire.LegacySubjects) {
		t.Errorf("partition 0 of generation 2 does not take the legacy subjects: %q", cur.Streams[0].Info.Config.Subjects)
	}
	newer := 0
	for _, s := range cur.Streams {
		newer += int(s.Info.State.Msgs)
	}
	if newer == 0 {
		t.Fatal("nothing was published to generation 2")
	}
	for id, seqs := range seqsByResource(t, hub.JetStream()) {
		want := make([]int, rounds)
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(seqs, want) {
			t.Errorf("%s: checks read in order %v, want 0..%d once each", id, seqs, rounds-1)
		}
	}
	t.Logf("%d rounds of %d devices across the change; generation 1 holds %d messages, generation 2 %d", rounds, devices, msgs(old), newer)
}

func msgs(g layout.Generation) (n uint64) {
	for _, s := range g.Streams {
		n += s.Info.State.Msgs
	}
	return n
}

// TestSpillAcrossRepartition: a poller's buffer, spilled while the hub was
// down, holds messages for generation 1; the hub comes back with 5
// partitions (generation 1 is retired meanwhile). The poller's next start
// sends every group to its resource's partition of generation 2, coalesced
// messages split by partition.
func TestSpillAcrossRepartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	hubDir, listen := t.TempDir(), loopback(freePort(t))
	fast := bus.Options{LayoutTick: 100 * time.Millisecond, RetireAfter: 300 * time.Millisecond}
	hub, err := bus.Open(ctx, bus.Options{DataDir: hubDir, Listen: listen, MaxBytes: 256 << 20, Partitions: 3, Name: "hub",
		LayoutTick: fast.LayoutTick, RetireAfter: fast.RetireAfter})
	if err != nil {
		t.Fatal(err)
	}
	pollerDir := t.TempDir()
	popts := bus.Options{URL: "nats://" + listen, DataDir: pollerDir, Name: "poller", PublishTimeout: 200 * time.Millisecond, Linger: 20 * time.Millisecond,
		LayoutTick: fast.LayoutTick, RetireAfter: fast.RetireAfter}
	pub, err := bus.Open(ctx, popts)
	if err != nil {
		t.Fatal(err)
	}
	_ = hub.Close()
	const devices = 20
	var wg sync.WaitGroup
	for d := range devices {
		wg.Add(1)
		go func() { // concurrent: coalesced into messages of several resources
			defer wg.Done()
			if n, err := pub.PublishSet(ctx, lightSet(fmt.Sprintf("sw%02d", d), 7)); n != 2 || err != nil {
				t.Errorf("PublishSet = %d, %v", n, err)
			}
		}()
	}
	wg.Wait()
	if h := pub.Health(); h.Buffered == 0 {
		t.Fatal("nothing buffered while the hub is down")
	}
	_ = pub.Close() // spills

	hub, err = bus.Open(ctx, bus.Options{DataDir: hubDir, Listen: listen, MaxBytes: 256 << 20, Partitions: 5, Name: "hub",
		LayoutTick: fast.LayoutTick, RetireAfter: fast.RetireAfter})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	waitFor(t, 10*time.Second, "generation 1 retired", func() bool {
		g, ok := readLayout(t, hub.JetStream()).Find(1)
		return ok && g.Retired()
	})
	pub, err = bus.Open(ctx, popts)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	waitFor(t, 20*time.Second, "the spilled buffer published", func() bool { return pub.Health().Buffered == 0 })
	l := wire.Layout{Gen: 2, N: 5}
	got := map[string]int{}
	for p, name := range l.Streams() {
		for _, m := range readStream(t, hub.JetStream(), name) {
			for _, g := range m.groups {
				if l.Partition(g.Resource.ID) != p {
					t.Errorf("%s's group in partition %d, want %d", g.Resource.ID, p, l.Partition(g.Resource.ID))
				}
				got[g.Resource.ID]++
			}
		}
	}
	if len(got) != devices {
		t.Fatalf("%d devices' groups in generation 2, want %d", len(got), devices)
	}
	for id, n := range got {
		if n != 2 {
			t.Errorf("%s: %d groups, want 2", id, n)
		}
	}
}

// TestUpgradeKeepsTheSingleStream: a bus of a version before partitions
// left PANOPTES_METRICS (subjects panoptes.metrics.>) with messages; it
// opens as generation 0, unchanged, without partitions asked for; with
// partitions 3 the stream is narrowed, then retired, its messages kept for
// the consumers.
func TestUpgradeKeepsTheSingleStream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	b, err := bus.Open(ctx, bus.Options{DataDir: dir, MaxBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// As the last version made it: no metadata, every metrics subject.
	if _, err := b.JetStream().UpdateStream(ctx, jetstream.StreamConfig{Name: wire.MetricsStream, Subjects: []string{wire.AllMetrics},
		Storage: jetstream.FileStorage, MaxBytes: 256 << 20, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.PublishSet(ctx, interfaceSet(testResource("lab", "old"), 3)); n != 4 || err != nil {
		t.Fatal(n, err)
	}
	_ = b.Close()

	b, err = bus.Open(ctx, bus.Options{DataDir: dir, MaxBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if b.Layout() != wire.Legacy {
		t.Fatalf("layout %v, want generation 0", b.Layout())
	}
	_ = b.Close()

	b, err = bus.Open(ctx, bus.Options{DataDir: dir, MaxBytes: 256 << 20, Partitions: 3, LayoutTick: 100 * time.Millisecond, RetireAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Layout() != (wire.Layout{Gen: 1, N: 3}) {
		t.Fatalf("layout %v, want generation 1", b.Layout())
	}
	if n, err := b.PublishSet(ctx, interfaceSet(testResource("lab", "new"), 3)); n != 4 || err != nil {
		t.Fatal(n, err)
	}
	waitFor(t, 10*time.Second, "generation 0 retired", func() bool {
		g, ok := readLayout(t, b.JetStream()).Find(0)
		return ok && g.Retired()
	})
	old := readStream(t, b.JetStream(), wire.MetricsStream)
	if len(old) != 2 || old[0].subject != "panoptes.metrics.lab.interface" {
		t.Fatalf("generation 0 holds %d messages (%v), want its 2", len(old), old)
	}
}
